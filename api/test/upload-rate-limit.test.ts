import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { call, codeOf } from './http.ts';

const PER_IP = 300;
const PER_UPLOAD = 250;
const PER_USER = 6;
const metaHeader = `title ${Buffer.from('NAT clip').toString('base64')}`;

/** Runs `n` requests, `width` at a time (one client IP: every request comes from 127.0.0.1); returns their statuses. */
async function burst(n: number, width: number, send: (i: number) => Promise<Response>): Promise<number[]> {
  const statuses: number[] = new Array<number>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < n; i = next++) {
        const res = await send(i);
        await res.arrayBuffer();
        statuses[i] = res.status;
      }
    }),
  );
  return statuses;
}

describe('upload rate limits are per upload and per uploader, not per IP', () => {
  let t: TestApp;
  const head = (url: string) => fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });

  beforeAll(async () => {
    t = await startTestApp({
      roles: ['api'],
      env: {
        RATE_LIMIT_MAX: String(PER_IP),
        UPLOAD_RATE_LIMIT_PER_UPLOAD: String(PER_UPLOAD),
        UPLOAD_RATE_LIMIT_PER_USER: String(PER_USER),
        UPLOAD_MAX_OPEN_PER_USER: '0',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function createUpload(token: string): Promise<Response> {
    return fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Token': token, 'Upload-Length': '100', 'Upload-Metadata': metaHeader },
    });
  }

  it('serves 400 tus requests for two uploads from one address past the 300/min API budget; one hammered URL gets 429 JSON', async () => {
    const token = await fetchUploadToken(t.url, 'parent-a');
    const urls = await Promise.all([0, 1].map(async () => new URL((await createUpload(token)).headers.get('location')!, t.url).toString()));
    const statuses = await burst(400, 8, (i) => head(urls[i % 2]!));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The tus requests did not spend the API's per-IP budget.
    const api = await call(t.url, 'GET', '/api/videos', { token: await tokenFor('parent-a', 'uploader') });
    expect(api.status).toBe(200);
    // The first URL has 200 of its 250 left; hammering it runs into its own budget, the other URL carries on.
    const more = await burst(60, 8, () => head(urls[0]!));
    expect(more.filter((s) => s === 200)).toHaveLength(PER_UPLOAD - 200);
    expect(more.filter((s) => s === 429)).toHaveLength(60 - (PER_UPLOAD - 200));
    const limited = await fetch(urls[0]!, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: new Uint8Array(1),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/json');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('INGEST_RATE_LIMITED');
    expect((await head(urls[1]!)).status).toBe(200);
    // The same address on an API route does run into the per-IP budget.
    const apiStatuses = await burst(PER_IP, 8, () => fetch(`${t.url}/api/videos`));
    expect(apiStatuses).toContain(429);
  });

  it('charges creations and upload tokens to the uploader, so another uploader behind the same address is not limited', async () => {
    const tokenB = await fetchUploadToken(t.url, 'parent-b');
    const created = await burst(PER_USER + 2, 1, () => createUpload(tokenB));
    expect(created.filter((s) => s === 201)).toHaveLength(PER_USER);
    expect(created.slice(PER_USER)).toEqual([429, 429]);
    const tokenC = await fetchUploadToken(t.url, 'parent-c');
    expect((await createUpload(tokenC)).status).toBe(201);

    const asD = await tokenFor('parent-d', 'uploader');
    const issued = [];
    for (let i = 0; i < PER_USER + 1; i++) issued.push(await call(t.url, 'POST', '/api/upload-tokens', { token: asD }));
    expect(issued.slice(0, PER_USER).map((r) => r.status)).toEqual(new Array(PER_USER).fill(201));
    expect([issued[PER_USER]!.status, codeOf(issued[PER_USER]!)]).toEqual([429, 'INGEST_RATE_LIMITED']);
    const asE = await tokenFor('parent-e', 'uploader');
    expect((await call(t.url, 'POST', '/api/upload-tokens', { token: asE })).status).toBe(201);
  });
});
