import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { codeOf, storedPath, videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { fetchUploadToken, tusUpload } from '../../test/helpers/tus-upload.ts';

/** What curl and tus clients other than tus-js-client expect from a tus 1.0 server (tus.io/protocols/resumable-upload). */
describe('tus 1.0 conformance of the upload endpoint', () => {
  let t: TestApp;
  let file: string;
  const meta = `title ${Buffer.from('Conformance').toString('base64')},filename ${Buffer.from('c.mp4').toString('base64')}`;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    file = path.join(t.dataDir, 'clip.bin');
    await writeFile(file, videoLikeBytes(300 * 1024));
  });
  afterAll(async () => {
    await t?.close();
  });

  async function create(size = 10): Promise<string> {
    const res = await fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Length': String(size),
        'Upload-Token': await fetchUploadToken(t.url),
        'Upload-Metadata': meta,
      },
    });
    expect(res.status).toBe(201);
    return new URL(res.headers.get('location')!, t.url).href;
  }

  /** Every error answer: the status, a stable JSON code, and the headers the spec asks for. */
  async function expectError(res: Response, status: number, code: string): Promise<void> {
    expect({ status: res.status, type: res.headers.get('content-type'), tus: res.headers.get('tus-resumable') }).toEqual({
      status,
      type: 'application/json',
      tus: '1.0.0',
    });
    expect(await codeOf(res)).toBe(code);
  }

  it('answers a version it does not speak with 412 and the versions it does (Tus-Version), on every method', async () => {
    const url = await create();
    for (const [method, target] of [
      ['POST', `${t.url}/uploads`],
      ['PATCH', url],
      ['HEAD', url],
      ['DELETE', url],
    ] as const) {
      const res = await fetch(target, {
        method,
        headers: {
          'Tus-Resumable': '0.2.2',
          'Upload-Length': '10',
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
      });
      expect([method, res.status, res.headers.get('tus-version')]).toEqual([method, 412, '1.0.0']);
      if (method !== 'HEAD') await expectError(res, 412, 'INGEST_TUS_VERSION');
    }
    // No version at all is the same refusal.
    await expectError(await fetch(url, { method: 'PATCH', body: 'x' }), 412, 'INGEST_TUS_VERSION');
    const options = await fetch(`${t.url}/uploads`, { method: 'OPTIONS' });
    expect(options.headers.get('tus-version')).toBe('1.0.0');
    expect(options.headers.get('tus-extension')).toContain('creation');
  });

  it('refuses a PATCH body of any other Content-Type with 415 and a JSON code, not the framework’s own answer', async () => {
    const url = await create();
    for (const type of ['text/plain', 'application/json', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await fetch(url, {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': type },
        body: type === 'application/json' ? '{"a":' : 'hello',
      });
      await expectError(res, 415, 'INGEST_CONTENT_TYPE');
    }
    const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(head.headers.get('upload-offset')).toBe('0');
  });

  it('takes PATCH tunnelled through POST (X-HTTP-Method-Override), as tus-js-client sends it behind proxies', async () => {
    const { videoId, uploadUrl } = await tusUpload(
      `${t.url}/uploads`,
      file,
      { title: 'Override', filename: 'o.mp4' },
      {
        chunkSize: 100 * 1024,
        overridePatchMethod: true,
      },
    );
    expect(videoId).toMatch(/^[0-9a-f-]{36}$/);
    const head = await fetch(uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(head.headers.get('upload-offset')).toBe(String(300 * 1024));
    // Only PATCH and DELETE may be tunnelled: a POST claiming to be a GET is still a POST.
    const odd = await fetch(uploadUrl, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'X-HTTP-Method-Override': 'GET' } });
    expect(odd.status).not.toBe(200);
  });

  it('confirms a finished upload on HEAD even after its files left this host, with the video id', async () => {
    const { videoId, uploadUrl } = await tusUpload(`${t.url}/uploads`, file, { title: 'Lost answer', filename: 'l.mp4' });
    // What a worker does once the upload is scanned: the tus files go; the client that lost the final answer asks.
    const data = storedPath(t.config.uploadDir, uploadUrl);
    await rm(data);
    await rm(`${data}.json`);
    const head = await fetch(uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect([head.status, head.headers.get('upload-offset'), head.headers.get('upload-length'), head.headers.get('video-id')]).toEqual([
      200,
      String(300 * 1024),
      String(300 * 1024),
      videoId,
    ]);
  });
});
