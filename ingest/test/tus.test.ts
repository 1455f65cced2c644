import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { UploadTokens } from '../upload-token.ts';
import {
  videoLikeBytes,
  codeOf,
  fileSha256,
  runUntil,
  runUpload,
  sha256,
  storedPath,
  tusErrorCode,
} from '../../test/helpers/tus-helpers.ts';

const SECRET = 'tus-test-secret-0123456789-abcdefghijklmnop';
const MAX = 4 * 1024 * 1024;
const META = { title: 'A clip', filename: 'clip.mp4' };

describe('tus ingest endpoint', () => {
  let t: TestApp;
  let endpoint: string;
  let token: string;
  const tusHeaders = (extra: Record<string, string> = {}) => ({ 'Tus-Resumable': '1.0.0', 'Upload-Token': token, ...extra });
  const meta = (m: Record<string, string>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
      .join(',');

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], env: { UPLOAD_TOKEN_SECRET: SECRET, MAX_UPLOAD_BYTES: String(MAX) } });
    endpoint = `${t.url}/uploads`;
    token = await fetchUploadToken(t.url);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('advertises its extensions, checksum algorithms and max size on OPTIONS', async () => {
    const res = await fetch(endpoint, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    const ext = (res.headers.get('tus-extension') ?? '').split(',');
    for (const e of [
      'creation',
      'creation-with-upload',
      'creation-defer-length',
      'termination',
      'expiration',
      'checksum',
      'concatenation',
    ]) {
      expect(ext).toContain(e);
    }
    expect(res.headers.get('tus-checksum-algorithm')).toBe('sha1,sha256');
    expect(res.headers.get('tus-max-size')).toBe(String(MAX));
  });

  it('requires a valid, unexpired upload token to create an upload', async () => {
    const post = (h: Record<string, string>) =>
      fetch(endpoint, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10', 'Upload-Metadata': meta(META), ...h },
      });
    let res = await post({});
    expect(res.status).toBe(401);
    expect(await codeOf(res)).toBe('INGEST_TOKEN_MISSING');
    res = await post({ 'Upload-Token': `${token}x` });
    expect([res.status, await codeOf(res)]).toEqual([401, 'INGEST_TOKEN_INVALID']);
    const expired = new UploadTokens({ secret: SECRET, ttlSec: 1, now: () => Date.now() - 10_000 }).issue().token;
    res = await post({ 'Upload-Token': expired });
    expect([res.status, await codeOf(res)]).toEqual([401, 'INGEST_TOKEN_EXPIRED']);
    res = await post({ 'Upload-Token': token });
    expect(res.status).toBe(201);
    // Expiration extension: an unfinished upload says when it expires (UPLOAD_EXPIRY_HOURS, default 24 h).
    const expires = Date.parse(res.headers.get('upload-expires') ?? '');
    expect(expires - Date.now()).toBeGreaterThan(23 * 3600_000);
  });

  it('rejects an oversize upload at creation with 413, before any byte is sent', async () => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: tusHeaders({ 'Upload-Length': String(MAX + 1), 'Upload-Metadata': meta(META) }),
    });
    expect([res.status, await codeOf(res)]).toEqual([413, 'INGEST_TOO_LARGE']);
    const exact = await fetch(endpoint, {
      method: 'POST',
      headers: tusHeaders({ 'Upload-Length': String(MAX), 'Upload-Metadata': meta(META) }),
    });
    expect(exact.status).toBe(201);
    const err = await runUpload(randomBytes(16), { endpoint, uploadSize: MAX + 1, headers: tusHeaders(), metadata: META }).catch(
      (e: unknown) => e,
    );
    expect(tusErrorCode(err).status).toBe(413);
  });

  it('validates metadata with zod: title required, reserved keys refused, filename sanitised', async () => {
    const post = (m: Record<string, string>) =>
      fetch(endpoint, { method: 'POST', headers: tusHeaders({ 'Upload-Length': '1', 'Upload-Metadata': meta(m) }) });
    let res = await post({ filename: 'x.mp4' });
    expect([res.status, await codeOf(res)]).toEqual([400, 'INGEST_BAD_METADATA']);
    res = await post({ title: 'x'.repeat(201) });
    expect([res.status, await codeOf(res)]).toEqual([400, 'INGEST_BAD_METADATA']);
    res = await post({ title: 'ok', uploader: 'someone-else' });
    expect([res.status, await codeOf(res)]).toEqual([400, 'INGEST_BAD_METADATA']);
    const up = await runUpload(videoLikeBytes(10), {
      endpoint,
      headers: tusHeaders(),
      metadata: { title: '  Trimmed  ', filename: '../../etc/\u202Epasswd\u0000.mp4' },
    });
    const sql = (await import('postgres')).default(t.db.url, { max: 1 });
    try {
      const [row] = await sql<
        { title: string; original_filename: string }[]
      >`SELECT title, original_filename FROM videos WHERE id = ${up.videoId!}`;
      expect(row?.title).toBe('Trimmed');
      expect(row?.original_filename).toBe('__.._etc__passwd_.mp4');
    } finally {
      await sql.end();
    }
  });

  it('attributes the upload to the token subject (uploader id claim)', async () => {
    const own = new UploadTokens({ secret: SECRET }).issue({ uploaderId: 'parent-7' }).token;
    const up = await runUpload(videoLikeBytes(16), { endpoint, headers: tusHeaders({ 'Upload-Token': own }), metadata: META });
    const sql = (await import('postgres')).default(t.db.url, { max: 1 });
    try {
      const [row] = await sql<{ uploader_id: string }[]>`SELECT uploader_id FROM videos WHERE id = ${up.videoId!}`;
      expect(row?.uploader_id).toBe('parent-7');
    } finally {
      await sql.end();
    }
  });

  it('resumes uploads interrupted at random offsets; the stored file equals the original', async () => {
    const data = videoLikeBytes(2 * 1024 * 1024 + 12345);
    const cuts = [0.15, 0.45, 0.75].map((f) => Math.floor((f + Math.random() * 0.1) * data.length)).sort((a, b) => a - b);
    let url: string | undefined;
    for (const cut of cuts) {
      url = await runUntil(data, cut, { endpoint, uploadUrl: url ?? null, headers: tusHeaders(), metadata: META, chunkSize: 128 * 1024 });
      const head = await fetch(url, { method: 'HEAD', headers: tusHeaders() });
      const offset = Number(head.headers.get('upload-offset'));
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(data.length);
    }
    const done = await runUpload(data, { endpoint, uploadUrl: url!, headers: tusHeaders(), metadata: META, chunkSize: 128 * 1024 });
    expect(done.url).toBe(url);
    expect(done.videoId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await fileSha256(storedPath(t.config.uploadDir, done.url))).toBe(sha256(data));
  });

  it('supports creation-with-upload and creation-defer-length', async () => {
    const data = videoLikeBytes(300 * 1024);
    const a = await runUpload(data, { endpoint, headers: tusHeaders(), metadata: META, uploadDataDuringCreation: true });
    expect(await fileSha256(storedPath(t.config.uploadDir, a.url))).toBe(sha256(data));
    const b = await runUpload(data, { endpoint, headers: tusHeaders(), metadata: META, uploadLengthDeferred: true, chunkSize: 100 * 1024 });
    expect(b.videoId).toBeDefined();
    expect(await fileSha256(storedPath(t.config.uploadDir, b.url))).toBe(sha256(data));
  });

  it('uploads in parallel with concatenation; the final file equals the original and the partials are gone', async () => {
    const data = videoLikeBytes(1024 * 1024 + 777);
    const up = await runUpload(data, { endpoint, headers: tusHeaders(), metadata: META, parallelUploads: 3, chunkSize: 128 * 1024 });
    expect(up.videoId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await fileSha256(storedPath(t.config.uploadDir, up.url))).toBe(sha256(data));
    expect((await readdir(t.config.uploadDir)).filter((f) => f.startsWith('partial-'))).toEqual([]);
  });

  it('refuses a final upload over incomplete or foreign partials', async () => {
    const res = await fetch(endpoint, { method: 'POST', headers: tusHeaders({ 'Upload-Length': '10', 'Upload-Concat': 'partial' }) });
    expect(res.status).toBe(201);
    const partial = res.headers.get('location')!;
    let fin = await fetch(endpoint, {
      method: 'POST',
      headers: tusHeaders({ 'Upload-Concat': `final;${partial}`, 'Upload-Metadata': meta(META) }),
    });
    expect([fin.status, await codeOf(fin)]).toEqual([400, 'INGEST_CONCAT_INVALID']);
    fin = await fetch(endpoint, {
      method: 'POST',
      headers: tusHeaders({ 'Upload-Concat': 'final;/uploads/../../etc/passwd', 'Upload-Metadata': meta(META) }),
    });
    expect([fin.status, await codeOf(fin)]).toEqual([400, 'INGEST_CONCAT_INVALID']);
  });

  it('concatenates without a (by then possibly expired) token, authorised by the partials and credited to their uploader', async () => {
    const own = new UploadTokens({ secret: SECRET }).issue({ uploaderId: 'parent-9' }).token;
    // The joined head must look like a video: the final upload is sniffed before its parts are joined.
    const whole = videoLikeBytes(64);
    const parts = [whole.subarray(0, 6), whole.subarray(6)];
    const urls: string[] = [];
    for (const p of parts) {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: tusHeaders({ 'Upload-Token': own, 'Upload-Length': String(p.length), 'Upload-Concat': 'partial' }),
      });
      const url = new URL(res.headers.get('location')!, t.url).toString();
      const patch = await fetch(url, {
        method: 'PATCH',
        body: new Uint8Array(p),
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      });
      expect(patch.status).toBe(204);
      urls.push(url);
    }
    const fin = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Concat': `final;${urls.join(' ')}`, 'Upload-Metadata': meta(META) },
    });
    expect(fin.status).toBe(201);
    const videoId = fin.headers.get('video-id')!;
    const sql = (await import('postgres')).default(t.db.url, { max: 1 });
    try {
      const [row] = await sql<{ uploader_id: string }[]>`SELECT uploader_id FROM videos WHERE id = ${videoId}`;
      expect(row?.uploader_id).toBe('parent-9');
    } finally {
      await sql.end();
    }
    expect(await fileSha256(storedPath(t.config.uploadDir, new URL(fin.headers.get('location')!, t.url).toString()))).toBe(
      sha256(Buffer.concat(parts)),
    );
  });

  it('termination deletes an unfinished upload but not a finished one; uploads cannot be downloaded', async () => {
    const created = await fetch(endpoint, {
      method: 'POST',
      headers: tusHeaders({ 'Upload-Length': '100', 'Upload-Metadata': meta(META) }),
    });
    const url = new URL(created.headers.get('location')!, t.url).toString();
    expect((await fetch(url, { method: 'DELETE', headers: tusHeaders() })).status).toBe(204);
    expect((await fetch(url, { method: 'HEAD', headers: tusHeaders() })).status).toBe(404);
    const done = await runUpload(videoLikeBytes(16), { endpoint, headers: tusHeaders(), metadata: META });
    expect((await fetch(done.url, { method: 'DELETE', headers: tusHeaders() })).status).toBe(400);
    const get = await fetch(done.url);
    expect([get.status, await codeOf(get)]).toEqual([404, 'API_NOT_FOUND']);
  });
});
