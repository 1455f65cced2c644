import { readdir, rm } from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { hostile } from '../../test/helpers/hostile.ts';
import { codeOf, runUpload, storedPath, videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const TUS = { 'Tus-Resumable': '1.0.0' };

/** Parallel (tus concatenation) uploads get the same first-bytes check as single ones, and a final URL confirms on HEAD. */
describe('first-bytes check of parallel uploads, and HEAD on a finished final upload', () => {
  let t: TestApp;
  let endpoint: string;
  beforeAll(async () => {
    // Two open partials per uploader: a refused upload whose slots leaked would make the next creations answer 429.
    t = await startTestApp({ roles: ['api'], env: { UPLOAD_MAX_OPEN_PARTIALS_PER_USER: '2' } });
    endpoint = `${t.url}/uploads`;
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A partial of `body`'s length; sends `sent` bytes of it (default all). */
  async function partial(token: string, body: Buffer, meta = '', sent = body.length): Promise<{ url: string; patch: Response }> {
    const created = await fetch(endpoint, {
      method: 'POST',
      headers: {
        ...TUS,
        'Upload-Token': token,
        'Upload-Concat': 'partial',
        'Upload-Length': String(body.length),
        ...(meta ? { 'Upload-Metadata': meta } : {}),
      },
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, endpoint).href;
    const patch = await fetch(url, {
      method: 'PATCH',
      body: new Uint8Array(body.subarray(0, sent)),
      headers: { ...TUS, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    });
    return { url, patch };
  }
  const final = (urls: string[]): Promise<Response> =>
    fetch(endpoint, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Concat': `final;${urls.join(' ')}`, 'Upload-Metadata': `title ${b64('Parallel')}` },
    });
  const head = (url: string): Promise<Response> => fetch(url, { method: 'HEAD', headers: TUS });

  it('refuses the final upload of a playlist sent in parts (the head spans both) before it is joined, scanned or queued', async () => {
    const token = await fetchUploadToken(t.url);
    // An HLS playlist that would make ffmpeg read another file, padded to span parts; the first part is tiny.
    const text = Buffer.from(hostile.hlsFile('/etc/passwd') + '#'.repeat(6000) + '\n');
    const a = await partial(token, text.subarray(0, 100));
    const b = await partial(token, text.subarray(100));
    // Partials that do not say they hold the first bytes are not judged alone: any part of a video may look like junk.
    expect([a.patch.status, b.patch.status]).toEqual([204, 204]);
    const res = await final([a.url, b.url]);
    expect([res.status, await codeOf(res)]).toEqual([415, 'INGEST_NOT_VIDEO_FILE']);
    // Nothing was joined, the parts are gone, no video exists, and both slots are free again.
    expect(await readdir(t.config.uploadDir)).toEqual([]);
    expect((await head(a.url)).status).toBe(404);
    const sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
    try {
      expect(await sql`SELECT id FROM videos`).toHaveLength(0);
    } finally {
      await sql.end();
    }
    const again = await final([a.url, b.url]);
    expect([again.status, await codeOf(again)]).toEqual([400, 'INGEST_CONCAT_INVALID']);
    // Unfinished (1 of 2 bytes), so the client may delete them again.
    const c = await partial(token, Buffer.from('xx'), '', 1);
    const d = await partial(token, Buffer.from('yy'), '', 1);
    expect([c.patch.status, d.patch.status]).toEqual([204, 204]);
    for (const u of [c.url, d.url]) expect((await fetch(u, { method: 'DELETE', headers: TUS })).status).toBe(204);
  });

  it('refuses on its first PATCH a partial that says it holds the first bytes (partIndex 0)', async () => {
    const token = await fetchUploadToken(t.url);
    const zip = Buffer.alloc(64 * 1024, 'PK\x03\x04 an archive, not a video ');
    const first = await partial(token, zip, `partIndex ${b64('0')}`);
    expect([first.patch.status, await codeOf(first.patch)]).toEqual([415, 'INGEST_NOT_VIDEO_FILE']);
    expect((await head(first.url)).status).toBe(404);
    // A real first part passes; so does a later part that looks like anything.
    const ok = await partial(token, videoLikeBytes(8 * 1024), `partIndex ${b64('0')}`);
    const rest = await partial(token, zip);
    expect([ok.patch.status, rest.patch.status]).toEqual([204, 204]);
    const res = await final([ok.url, rest.url]);
    expect(res.status).toBe(201);
    expect(res.headers.get('video-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers HEAD on a finished final upload with 200 and Upload-Offset = Upload-Length, also after its files left', async () => {
    const token = await fetchUploadToken(t.url);
    const data = videoLikeBytes(600 * 1024);
    const { url, videoId } = await runUpload(data, {
      endpoint,
      parallelUploads: 2,
      chunkSize: 128 * 1024,
      headers: { 'Upload-Token': token },
      metadata: { title: 'Parallel', filename: 'p.mp4' },
    });
    expect(videoId).toMatch(/^[0-9a-f-]{36}$/);
    const expectDone = async (): Promise<void> => {
      const res = await head(url);
      expect([res.status, res.headers.get('upload-offset'), res.headers.get('upload-length'), res.headers.get('video-id')]).toEqual([
        200,
        String(data.length),
        String(data.length),
        videoId,
      ]);
    };
    await expectDone();
    // What a worker does once the upload is scanned: the tus files go; a client that lost the final answer asks.
    const stored = storedPath(t.config.uploadDir, url);
    await rm(stored);
    await rm(`${stored}.json`);
    await expectDone();
  });
});
