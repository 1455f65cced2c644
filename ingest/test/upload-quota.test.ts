import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../ops/app.ts';
import { createLogger } from '../../ops/logger.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { videoLikeBytes, codeOf, runUpload } from '../../test/helpers/tus-helpers.ts';

const MiB = 1024 * 1024;
const MAX_OPEN = 3;
const MAX_PARTIALS = 6;
const META = `title ${Buffer.from('Quota clip').toString('base64')}`;

describe('per-uploader upload quotas at tus creation', () => {
  let t: TestApp;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestApp({
      roles: ['api'],
      env: {
        MAX_UPLOAD_BYTES: String(4 * MiB),
        UPLOAD_MAX_OPEN_PER_USER: String(MAX_OPEN),
        UPLOAD_MAX_OPEN_PARTIALS_PER_USER: String(MAX_PARTIALS),
        UPLOAD_MAX_BYTES_PER_DAY: String(10 * MiB),
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** An upload token for `user`, the way a signed-in uploader gets one (JWT → POST /api/upload-tokens). */
  async function tokenOf(user: string): Promise<string> {
    if (!tokens.has(user)) tokens.set(user, await fetchUploadToken(t.url, user));
    return tokens.get(user)!;
  }

  async function create(
    user: string,
    headers: Record<string, string>,
    base = t.url,
  ): Promise<{ status: number; code?: string; url?: string }> {
    const res = await fetch(`${base}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Token': await tokenOf(user), 'Upload-Metadata': META, ...headers },
    });
    const location = res.headers.get('location');
    if (res.status === 201) return { status: 201, url: new URL(location!, base).toString() };
    return { status: res.status, code: await codeOf(res) };
  }
  const createSized = (user: string, bytes: number, base?: string) => create(user, { 'Upload-Length': String(bytes) }, base);

  async function patch(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(url, {
      method: 'PATCH',
      body: new Uint8Array(body),
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', ...headers },
    });
  }

  const openUrls: string[] = [];

  it(`refuses the ${MAX_OPEN + 1}th concurrent unfinished upload with 429 INGEST_QUOTA_OPEN_UPLOADS; another uploader is unaffected`, async () => {
    const results = await Promise.all(Array.from({ length: MAX_OPEN + 2 }, () => createSized('alice', 1000)));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(MAX_OPEN);
    expect(results.filter((r) => r.status !== 201)).toEqual(Array(2).fill({ status: 429, code: 'INGEST_QUOTA_OPEN_UPLOADS' }));
    openUrls.push(...created.map((r) => r.url!));
    expect((await createSized('bob', 1000)).status).toBe(201);
  });

  it('finishing or terminating an upload frees its slot', async () => {
    const finished = await patch(openUrls.shift()!, videoLikeBytes(1000));
    expect(finished.status).toBe(204);
    expect(finished.headers.get('video-id')).toBeTruthy();
    const replacement = await createSized('alice', 1000);
    expect(replacement.status).toBe(201);
    expect(await createSized('alice', 1000)).toEqual({ status: 429, code: 'INGEST_QUOTA_OPEN_UPLOADS' });
    const victim = openUrls.shift()!;
    expect((await fetch(victim, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } })).status).toBe(204);
    const afterDelete = await createSized('alice', 1000);
    expect(afterDelete.status).toBe(201);
    openUrls.push(replacement.url!, afterDelete.url!);
    expect(await createSized('alice', 1000)).toEqual({ status: 429, code: 'INGEST_QUOTA_OPEN_UPLOADS' });
  });

  it('the counts live in PostgreSQL: a second app instance on the same database (another API process, or a restart) sees them', async () => {
    let second: RunningApp | undefined;
    try {
      second = await startApp({ config: t.config, roles: ['api'], logger: createLogger({ level: 'warn' }) });
      expect(await createSized('alice', 1000, second.url)).toEqual({ status: 429, code: 'INGEST_QUOTA_OPEN_UPLOADS' });
      const bobs = await createSized('bob', 1000, second.url);
      expect(bobs.status).toBe(201);
    } finally {
      await second?.close();
    }
  });

  it('refuses uploads over the daily byte budget with 413 INGEST_QUOTA_BYTES; terminated uploads keep counting', async () => {
    const first = await createSized('carol', 4 * MiB);
    expect(first.status).toBe(201);
    expect((await createSized('carol', 4 * MiB)).status).toBe(201);
    expect(await createSized('carol', 4 * MiB)).toEqual({ status: 413, code: 'INGEST_QUOTA_BYTES' });
    // Exactly up to the budget is fine.
    expect((await createSized('carol', 2 * MiB)).status).toBe(201);
    // Deleting frees the open slot but gives no bytes back: the budget limits what is sent per day, not what is stored.
    expect((await fetch(first.url!, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } })).status).toBe(204);
    expect(await createSized('carol', 1)).toEqual({ status: 413, code: 'INGEST_QUOTA_BYTES' });
    expect((await createSized('dora', 4 * MiB)).status).toBe(201);
  });

  it('a deferred length counts as MAX_UPLOAD_BYTES until the upload finishes, then as its real size', async () => {
    const deferred = await create('erin', { 'Upload-Defer-Length': '1' });
    expect(deferred.status).toBe(201);
    expect((await createSized('erin', 4 * MiB)).status).toBe(201);
    expect(await createSized('erin', 4 * MiB)).toEqual({ status: 413, code: 'INGEST_QUOTA_BYTES' });
    const done = await patch(deferred.url!, videoLikeBytes(10), { 'Upload-Length': '10' });
    expect(done.status).toBe(204);
    expect((await createSized('erin', 4 * MiB)).status).toBe(201);
  });

  it('a tus-js-client parallel upload works while the uploader is at the open-upload cap; partials are capped separately', async () => {
    expect(await createSized('alice', 1000)).toEqual({ status: 429, code: 'INGEST_QUOTA_OPEN_UPLOADS' });
    const headers = { 'Upload-Token': await tokenOf('alice') };
    const data = videoLikeBytes(400 * 1024);
    // More streams than UPLOAD_MAX_OPEN_PER_USER: partials count against their own, larger limit.
    const up = await runUpload(data, {
      endpoint: `${t.url}/uploads`,
      headers,
      metadata: { title: 'parallel' },
      parallelUploads: 4,
      chunkSize: 64 * 1024,
    });
    expect(up.videoId).toMatch(/^[0-9a-f-]{36}$/);
    // Concatenated partials no longer count: a second parallel upload may use the whole partial allowance.
    const again = await runUpload(data, {
      endpoint: `${t.url}/uploads`,
      headers,
      metadata: { title: 'again' },
      parallelUploads: MAX_PARTIALS,
      chunkSize: 64 * 1024,
    });
    expect(again.videoId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await readdir(t.config.uploadDir)).filter((f) => f.startsWith('partial-'))).toEqual([]);
    const partials = await Promise.all(
      Array.from({ length: MAX_PARTIALS + 1 }, () => create('alice', { 'Upload-Length': '10', 'Upload-Concat': 'partial' })),
    );
    expect(partials.filter((p) => p.status === 201)).toHaveLength(MAX_PARTIALS);
    expect(partials.filter((p) => p.status !== 201)).toEqual([{ status: 429, code: 'INGEST_QUOTA_OPEN_UPLOADS' }]);
  });

  it('refused creations leave nothing behind, and the error says how to fix it', async () => {
    const before = (await readdir(t.config.uploadDir)).length;
    const res = await fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Token': await tokenOf('alice'), 'Upload-Metadata': META, 'Upload-Length': '5' },
    });
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INGEST_QUOTA_OPEN_UPLOADS');
    expect(body.error.message).toMatch(/limit is 3/);
    expect((await readdir(t.config.uploadDir)).length).toBe(before);
  });
});
