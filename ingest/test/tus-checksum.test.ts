import { createHash, randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { videoLikeBytes, codeOf, fileSha256, runUpload, sha256, storedPath } from '../../test/helpers/tus-helpers.ts';

const SECRET = 'tus-test-secret-0123456789-abcdefghijklmnop';
const MAX = 4 * 1024 * 1024;
const META = { title: 'A clip', filename: 'clip.mp4' };

describe('tus ingest endpoint: checksum extension', () => {
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

  it('checksum extension: a mismatching chunk gets 460 and is discarded; a matching one is stored', async () => {
    const data = videoLikeBytes(64 * 1024);
    const created = await fetch(endpoint, {
      method: 'POST',
      headers: tusHeaders({ 'Upload-Length': String(data.length * 2), 'Upload-Metadata': meta(META) }),
    });
    const url = new URL(created.headers.get('location')!, t.url).toString();
    const patch = (body: Buffer, offset: number, checksum: string) =>
      fetch(url, {
        method: 'PATCH',
        body: new Uint8Array(body),
        headers: tusHeaders({
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Checksum': checksum,
        }),
      });
    const digest = (alg: string, b: Buffer) => createHash(alg).update(b).digest('base64');
    let res = await patch(data, 0, `sha1 ${digest('sha1', randomBytes(8))}`);
    expect([res.status, await codeOf(res)]).toEqual([460, 'INGEST_CHECKSUM_MISMATCH']);
    let head = await fetch(url, { method: 'HEAD', headers: tusHeaders() });
    expect(head.headers.get('upload-offset')).toBe('0');
    res = await patch(data, 0, `md5 ${digest('md5', data)}`);
    expect([res.status, await codeOf(res)]).toEqual([400, 'INGEST_CHECKSUM_UNSUPPORTED']);
    res = await patch(data, 0, `sha1 ${digest('sha1', data)}`);
    expect(res.status).toBe(204);
    expect(res.headers.get('upload-offset')).toBe(String(data.length));
    res = await patch(data, data.length, `sha256 ${digest('sha256', Buffer.concat([data, Buffer.from('x')]))}`);
    expect(res.status).toBe(460);
    head = await fetch(url, { method: 'HEAD', headers: tusHeaders() });
    expect(head.headers.get('upload-offset')).toBe(String(data.length));
    res = await patch(data, data.length, `sha256 ${digest('sha256', data)}`);
    expect(res.status).toBe(204);
    expect(res.headers.get('video-id')).toBeTruthy();
    expect(await fileSha256(storedPath(t.config.uploadDir, url))).toBe(sha256(Buffer.concat([data, data])));
  });

  it('tus-js-client with per-chunk checksums recovers from a corrupted chunk (460 → retry)', async () => {
    const data = videoLikeBytes(700 * 1024);
    let corrupted = 0;
    let mismatches = 0;
    const inner = new tus.DefaultHttpStack({});
    const httpStack: tus.HttpStack = {
      getName: () => 'checksumming',
      createRequest(method, url) {
        const req = inner.createRequest(method, url);
        const send = req.send.bind(req);
        req.send = async (body: unknown) => {
          if (method === 'PATCH' && body instanceof Uint8Array) {
            // The first chunk goes out with a wrong digest, as if a byte flipped in transit.
            const sum = createHash('sha1')
              .update(corrupted++ === 0 ? Buffer.from('flipped') : body)
              .digest('base64');
            req.setHeader('Upload-Checksum', `sha1 ${sum}`);
          }
          const res = await send(body);
          if (res.getStatus() === 460) mismatches++;
          return res;
        };
        return req;
      },
    };
    const up = await runUpload(data, {
      endpoint,
      headers: tusHeaders(),
      metadata: META,
      chunkSize: 200 * 1024,
      httpStack,
      retryDelays: [0, 0],
      onShouldRetry: (err) => err.originalResponse?.getStatus() === 460,
    });
    expect(mismatches).toBe(1);
    expect(await fileSha256(storedPath(t.config.uploadDir, up.url))).toBe(sha256(data));
  });

  it('a multi-MiB upload in several PATCHes, each with its sha256, is stored byte for byte', async () => {
    // Chunks of more than a socket read, so the body reaches the store in batches and is hashed as it is written.
    const data = videoLikeBytes(3 * 1024 * 1024 + 4321);
    let checked = 0;
    const inner = new tus.DefaultHttpStack({});
    const httpStack: tus.HttpStack = {
      getName: () => 'sha256',
      createRequest(method, url) {
        const req = inner.createRequest(method, url);
        const send = req.send.bind(req);
        req.send = async (body: unknown) => {
          if (method === 'PATCH' && body instanceof Uint8Array) {
            req.setHeader('Upload-Checksum', `sha256 ${createHash('sha256').update(body).digest('base64')}`);
            checked++;
          }
          return send(body);
        };
        return req;
      },
    };
    const up = await runUpload(data, { endpoint, headers: tusHeaders(), metadata: META, chunkSize: 1024 * 1024 + 17, httpStack });
    expect(checked).toBe(4);
    expect(up.videoId).toBeTruthy();
    expect(await fileSha256(storedPath(t.config.uploadDir, up.url))).toBe(sha256(data));
  });
});
