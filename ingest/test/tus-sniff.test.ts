import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { codeOf, runUpload, tusErrorCode } from '../../test/helpers/tus-helpers.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';

const MiB = 1024 * 1024;
/** player/upload.html's data-chunk-bytes: the upload page sends one PATCH per 8 MiB. */
const PAGE_CHUNK = 8 * MiB;
const META = { title: 'Holiday', filename: 'holiday.mp4' };
const metaHeader = `title ${Buffer.from('Holiday').toString('base64')}`;

describe('refusing a file that is not a video on its first bytes', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let endpoint: string;
  let dir: string;
  beforeAll(async () => {
    // One open upload per uploader: a refused upload that kept its slot would make the next creation answer 429.
    t = await startTestApp({ roles: ['api'], env: { UPLOAD_MAX_OPEN_PER_USER: '1' } });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
    endpoint = `http://127.0.0.1:${proxy.port}/uploads`;
    dir = await mkdtemp(path.join(os.tmpdir(), 'tus-sniff-'));
  });
  afterAll(async () => {
    await proxy?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'answers the first PATCH of a 40 MB random file with 415 INGEST_NOT_VIDEO_FILE before most of it is sent',
    { timeout: 120_000 },
    async () => {
      const token = await fetchUploadToken(t.url);
      const before = proxy.bytesFromClients();
      const err = await runUpload(randomBytes(40 * 1000 * 1000), {
        endpoint,
        chunkSize: PAGE_CHUNK,
        headers: { 'Upload-Token': token },
        metadata: META,
      }).then(
        () => new Error('the upload was accepted'),
        (e: unknown) => e,
      );
      expect(tusErrorCode(err)).toEqual({ status: 415, code: 'INGEST_NOT_VIDEO_FILE' });
      // One 8 MiB PATCH at most (the server answers while it is still arriving), never the 40 MB.
      expect(proxy.bytesFromClients() - before).toBeLessThan(16 * MiB);
      // Its bytes are gone, and its quota slot is free: the same uploader may start another upload at once.
      expect(await readdir(t.config.uploadDir)).toEqual([]);
      const clip = await makeClip({ out: path.join(dir, 'real.mp4'), durationSec: 1, width: 160, height: 90 });
      const ok = await runUpload(await readFile(clip), {
        endpoint,
        chunkSize: PAGE_CHUNK,
        headers: { 'Upload-Token': token },
        metadata: META,
      });
      expect(ok.videoId).toBeTruthy();
    },
  );

  it('judges the first bytes across PATCHes when the first one is tiny, and refuses the PATCH that completes them', async () => {
    const token = await fetchUploadToken(t.url);
    const created = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Token': token, 'Upload-Length': String(MiB), 'Upload-Metadata': metaHeader },
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, endpoint).toString();
    const patch = (body: Buffer, offset: number) =>
      fetch(url, {
        method: 'PATCH',
        body: new Uint8Array(body),
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      });
    // 100 bytes cannot be judged yet (a real video could follow); the next PATCH completes the first 4 KiB.
    const junk = Buffer.alloc(MiB, 'PK\x03\x04 this is a zip archive, not a video ');
    expect((await patch(junk.subarray(0, 100), 0)).status).toBe(204);
    const res = await patch(junk.subarray(100, 64 * 1024), 100);
    expect([res.status, await codeOf(res)]).toEqual([415, 'INGEST_NOT_VIDEO_FILE']);
    const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(head.status).toBe(404);
  });

  it('accepts a real video sent in chunks smaller than the sniffed head', { timeout: 60_000 }, async () => {
    const token = await fetchUploadToken(t.url);
    const clip = await makeClip({ out: path.join(dir, 'small-chunks.mkv'), durationSec: 1, width: 160, height: 90 });
    const ok = await runUpload(await readFile(clip), { endpoint, chunkSize: 1000, headers: { 'Upload-Token': token }, metadata: META });
    expect(ok.videoId).toBeTruthy();
  });
});
