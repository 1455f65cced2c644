import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { startApp, type RunningApp } from '../../ops/app.ts';
import { createLogger } from '../../ops/logger.ts';
import type { VideoRow } from '../../db/videos.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { TEST_UPLOADER, tusUpload } from '../../test/helpers/tus-upload.ts';
import { call, codeOf } from './http.ts';

interface Detail {
  id: string;
  status: string;
  stage: string | null;
  error: { code: string } | null;
  waiting: unknown;
}
interface Audit {
  items: Array<{ action: string; actor: string; actorRole: string; notes: string | null }>;
}

describe('POST /api/videos/:id/retry', () => {
  let t: TestApp;
  let worker: RunningApp | undefined;
  let sql: postgres.Sql;
  let tmp: string;
  let clip: string;
  let owner: string;
  let mod: string;
  let admin: string;

  const row = async (id: string): Promise<VideoRow> => (await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${id}`)[0]!;
  const settled = (id: string, statuses: readonly string[]): Promise<VideoRow> =>
    waitFor(
      async () => {
        const r = await row(id);
        return statuses.includes(r.status) ? r : undefined;
      },
      { timeoutMs: 90_000, what: `video ${id} in ${statuses.join('/')}` },
    );
  /** An upload whose job is cancelled before any worker runs: `failed` with TRANSCODE_CANCELLED, upload untouched. */
  const cancelledUpload = async (title: string): Promise<string> => {
    const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { title });
    expect(await t.app.cancelTranscode(videoId)).toBe('removed');
    return videoId;
  };

  beforeAll(async () => {
    // API only, with the clamd the worker started later uses: jobs wait in the queue until then.
    t = await startTestApp({ roles: ['api'], withClamd: true });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-retry-'));
    clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 2, width: 160, height: 90 });
    [owner, mod, admin] = await Promise.all([
      tokenFor(TEST_UPLOADER, 'uploader'),
      tokenFor('mod-1', 'moderator'),
      tokenFor('root', 'admin'),
    ]);
  });
  afterAll(async () => {
    await worker?.close();
    await sql?.end();
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('re-queues a cancelled video once (staff only, audited) and it becomes ready', async () => {
    const id = await cancelledUpload('cancelled, then retried');
    expect(await row(id)).toMatchObject({ status: 'failed', error_code: 'TRANSCODE_CANCELLED' });

    const byOwner = await call(t.url, 'POST', `/api/videos/${id}/retry`, { token: owner });
    expect([byOwner.status, codeOf(byOwner)]).toEqual([403, 'AUTH_FORBIDDEN']);

    // Two moderators press the button at once: one retry, the other is told the video is no longer failed.
    const [a, b] = await Promise.all([
      call<Detail>(t.url, 'POST', `/api/videos/${id}/retry`, { token: mod, body: { notes: 'scanner was restarted' } }),
      call<Detail>(t.url, 'POST', `/api/videos/${id}/retry`, { token: admin }),
    ]);
    const ok = [a, b].filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect([a, b].filter((r) => r.status === 409).map(codeOf)).toEqual(['API_RETRY_NOT_FAILED']);
    expect(ok[0]!.body).toMatchObject({ id, status: 'uploaded', stage: null, error: null, waiting: null });

    const audit = await call<Audit>(t.url, 'GET', `/api/moderation/videos/${id}/audit`, { token: mod });
    const retried = audit.body.items.filter((x) => x.action === 'retried');
    expect(retried).toHaveLength(1);
    expect(retried[0]!.notes).toMatch(/^after TRANSCODE_CANCELLED/);

    // The cancel left a marker that stops any job of this video at its start: the retry must have cleared it.
    worker = await startApp({ config: t.config, roles: ['worker'], logger: createLogger({ level: 'silent' }) });
    expect(await settled(id, ['ready', 'failed', 'rejected', 'infected'])).toMatchObject({ status: 'ready', error_code: null });
  });

  it('a failed video whose upload is gone retries from its stripped master (its finished job is replaced)', async () => {
    const { videoId: id } = await tusUpload(`${t.url}/uploads`, clip, { title: 'fails after the strip' });
    const ready = await settled(id, ['ready', 'failed', 'rejected', 'infected']);
    expect(ready).toMatchObject({ status: 'ready' });
    expect(ready.stripped_master_key).not.toBeNull();
    expect(await readdir(t.config.uploadDir)).not.toContain(ready.source_key);
    // As if packaging had failed for good after the master was written (the raw upload is deleted at that point).
    await sql`UPDATE videos SET status = 'failed', error_code = 'PACKAGE_BAD_RENDITION' WHERE id = ${id}`;
    const r = await call<Detail>(t.url, 'POST', `/api/videos/${id}/retry`, { token: mod });
    expect(r.status).toBe(200);
    const again = await settled(id, ['ready', 'failed', 'rejected', 'infected']);
    expect(again).toMatchObject({ status: 'ready', error_code: null, source_sha256: ready.source_sha256 });
    expect(again.ready_at!.getTime()).toBeGreaterThan(ready.ready_at!.getTime());
  });

  it('refuses verdicts and videos that are not failed with API_RETRY_NOT_FAILED', async () => {
    const bad = path.join(tmp, 'not-a-video.mp4');
    await writeFile(bad, videoLikeBytes(4096)); // past the first-bytes check, refused by the pipeline
    const { videoId: rejected } = await tusUpload(`${t.url}/uploads`, bad, { title: 'not a video' });
    expect(await settled(rejected, ['ready', 'failed', 'rejected', 'infected'])).toMatchObject({ status: 'rejected' });
    const r1 = await call(t.url, 'POST', `/api/videos/${rejected}/retry`, { token: admin });
    expect([r1.status, codeOf(r1)]).toEqual([409, 'API_RETRY_NOT_FAILED']);
    const [ready] = await sql<Array<{ id: string }>>`SELECT id FROM videos WHERE status = 'ready' LIMIT 1`;
    const r2 = await call(t.url, 'POST', `/api/videos/${ready!.id}/retry`, { token: mod });
    expect([r2.status, codeOf(r2)]).toEqual([409, 'API_RETRY_NOT_FAILED']);
    const r3 = await call(t.url, 'POST', `/api/videos/00000000-0000-4000-8000-000000000000/retry`, { token: mod });
    expect([r3.status, codeOf(r3)]).toEqual([404, 'API_NOT_FOUND']);
  });

  it('refuses a failed video with neither master nor upload left with API_RETRY_SOURCE_MISSING, and leaves it failed', async () => {
    await worker?.close();
    worker = undefined;
    const id = await cancelledUpload('source swept away');
    const v = await row(id);
    await rm(path.join(t.config.uploadDir, v.source_key!), { force: true });
    const r = await call(t.url, 'POST', `/api/videos/${id}/retry`, { token: mod });
    expect([r.status, codeOf(r)]).toEqual([409, 'API_RETRY_SOURCE_MISSING']);
    expect(await row(id)).toMatchObject({ status: 'failed', error_code: 'TRANSCODE_CANCELLED' });
  });
});
