import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoRow } from '../../db/videos.ts';
import { listFiles, startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { startClamd, type TestClamd } from '../../test/helpers/clamd.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';

const run = promisify(execFile);

/**
 * The scan and the metadata strip run side by side, so for a file that really is a video the stripped master exists
 * by the time clamd answers "infected". That copy must never go on: not recorded, not transcoded, not published,
 * not left on disk. EICAR is not a video (it fails validation first), so here clamd is taught the md5 of a real clip.
 */
describe('a valid video that clamd flags', () => {
  let tmp: string;
  let clamd: TestClamd;
  let t: TestApp;
  let sql: postgres.Sql;
  let clip: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-infvid-'));
    clip = await makeClip({ out: path.join(tmp, 'flagged-clip.mp4'), durationSec: 6, width: 640, height: 360 });
    const dbDir = path.join(tmp, 'clamd');
    await mkdir(dbDir);
    await writeFile(path.join(dbDir, 'video.hdb'), (await run('sigtool', ['--md5', clip])).stdout);
    clamd = await startClamd({ dir: dbDir });
    t = await startTestApp({ env: { CLAMD_SOCKET: clamd.socket } });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
    await clamd?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('ends infected with the signature; its stripped master is deleted, nothing transcoded or published', async () => {
    const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { title: 'flagged', filename: 'flagged.mp4' });
    const v = await waitFor(
      async () => {
        const r = (await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${videoId}`)[0];
        return r && ['ready', 'failed', 'rejected', 'infected'].includes(r.status) ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'video settled' },
    );
    expect(v.status).toBe('infected');
    expect(v.error_code).toBe('INGEST_INFECTED');
    expect(v.scan_signature).toBe('flagged-clip.mp4.UNOFFICIAL');
    expect(v.stripped_master_key).toBeNull();
    expect(v.previewable_at).toBeNull();
    // The verdict is recorded before the job cleans up (so a crash in between is finished by the retry): on a busy
    // machine the status can be seen before the stripped master is removed, so wait for that, bounded.
    await waitFor(async () => ((await listFiles(path.join(t.config.mastersDir, videoId))).length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'stripped master of the infected video removed',
    });
    expect(await listFiles(path.join(t.config.publishDir, 'hls', videoId))).toEqual([]);
    expect(await readdir(t.config.uploadDir)).toEqual([]);
    expect(path.dirname(v.quarantine_path!)).toBe(t.config.quarantineDir);
    // No job work dir is left behind either.
    expect((await listFiles(t.config.workDir)).filter((f) => f.includes(videoId))).toEqual([]);
  });
});
