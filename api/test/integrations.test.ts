import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { bearer, tokenFor } from '../../test/helpers/auth.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { codeOf as tusCodeOf, runUpload } from '../../test/helpers/tus-helpers.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/helpers/webhook-receiver.ts';
import { call, codeOf } from './http.ts';

const SECRET = 'integrations-test-secret-0123456789';
const ALLOWED = 'https://uploader.example';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** What integrators used to Mux Video and Cloudflare Stream expect, sent as real requests to a running pipeline. */
describe('the API as Mux and Stream integrators expect it', () => {
  let t: TestApp;
  let hooks: WebhookReceiver;
  let tmp: string;
  let clip: Buffer;
  let owner: string;

  beforeAll(async () => {
    hooks = await startWebhookReceiver(SECRET);
    t = await startTestApp({
      env: { WEBHOOK_URLS: hooks.url, WEBHOOK_SECRET: SECRET, WEBHOOK_BACKOFF_MS: '50', CORS_ORIGINS: ALLOWED },
    });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-int-'));
    clip = await readFile(await makeClip({ out: path.join(tmp, 'c.mp4'), durationSec: 2, width: 320, height: 180 }));
    owner = await tokenFor('test-uploader', 'uploader');
  });
  afterAll(async () => {
    await t?.close();
    await hooks?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const create = async (metadata: string, length = clip.length): Promise<Response> =>
    fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Length': String(length),
        'Upload-Token': await fetchUploadToken(t.url),
        'Upload-Metadata': metadata,
      },
    });

  it('hands out the video id at creation, says "uploading" until the last byte, then makes the video with that id', async () => {
    const created = await create(`title ${b64('Reserved')},passthrough ${b64('order-42')}`);
    expect(created.status).toBe(201);
    const videoId = created.headers.get('video-id')!;
    expect(videoId).toMatch(UUID);
    expect(created.headers.get('access-control-expose-headers')).toContain('Video-Id');

    const early = await call(t.url, 'GET', `/api/videos/${videoId}`, { token: owner });
    expect([early.status, codeOf(early)]).toEqual([404, 'API_VIDEO_UPLOADING']);
    const mod = await call(t.url, 'GET', `/api/videos/${videoId}`, { token: await tokenFor('mod', 'moderator') });
    expect(codeOf(mod)).toBe('API_VIDEO_UPLOADING');
    // Someone else's reserved id reveals nothing.
    const other = await call(t.url, 'GET', `/api/videos/${videoId}`, { token: await tokenFor('someone-else', 'uploader') });
    expect([other.status, codeOf(other)]).toEqual([404, 'API_NOT_FOUND']);

    const patched = await fetch(new URL(created.headers.get('location')!, t.url), {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: new Uint8Array(clip),
    });
    expect(patched.status).toBe(204);
    expect(patched.headers.get('video-id')).toBe(videoId);
    const v = await call<{ id: string; passthrough: string | null }>(t.url, 'GET', `/api/videos/${videoId}`, { token: owner });
    expect([v.status, v.body.id, v.body.passthrough]).toEqual([200, videoId, 'order-42']);

    const createdEvent = await hooks.waitForEvent('video.created', videoId);
    expect(createdEvent.data).toMatchObject({
      videoId,
      passthrough: 'order-42',
      video: { id: videoId, status: 'uploaded', title: 'Reserved' },
    });
    const ready = await hooks.waitForEvent('video.ready', videoId);
    expect(ready.data).toMatchObject({
      videoId,
      passthrough: 'order-42',
      playback: { path: `/api/playback/${videoId}` },
      video: { id: videoId, status: 'ready', passthrough: 'order-42' },
    });
    // Nothing a receiver could fetch media with, and no storage layout.
    expect(JSON.stringify(ready)).not.toMatch(/sig=|masterKey|hls\/|m3u8/);

    const del = await call(t.url, 'DELETE', `/api/videos/${videoId}`, { token: owner });
    expect(del.status).toBe(200);
    const deleted = await hooks.waitForEvent('video.deleted', videoId);
    expect(deleted.data).toMatchObject({ videoId, passthrough: 'order-42', deletedBy: 'test-uploader' });
    expect(hooks.got.filter((g) => g.event.data['videoId'] === videoId).every((g) => g.verified)).toBe(true);
  });

  it('returns the reserved id on the final POST of a parallel upload, and the row has it', async () => {
    const up = await runUpload(clip, {
      endpoint: `${t.url}/uploads`,
      headers: { 'Upload-Token': await fetchUploadToken(t.url) },
      metadata: { title: 'parallel', passthrough: 'p-1' },
      parallelUploads: 2,
      chunkSize: 64 * 1024,
    });
    // tus-js-client's last response of a parallel upload is the final POST's 201.
    expect(up.videoId).toMatch(UUID);
    if (!up.videoId) throw new Error('no Video-Id');
    const v = await call<{ id: string; passthrough: string }>(t.url, 'GET', `/api/videos/${up.videoId}`, { token: owner });
    expect([v.body.id, v.body.passthrough]).toEqual([up.videoId, 'p-1']);
    const createdEvent = await hooks.waitForEvent('video.created', up.videoId);
    expect(createdEvent.data['passthrough']).toBe('p-1');
  });

  it('never lets a client choose the video id, and validates passthrough', async () => {
    for (const metadata of [
      `title ${b64('x')},videoId ${b64('00000000-0000-4000-8000-000000000000')}`,
      `title ${b64('x')},passthrough ${b64('p'.repeat(256))}`,
      `title ${b64('x')},passthrough ${b64('line\u0007bell')}`,
    ]) {
      const res = await create(metadata, 10);
      expect([res.status, await tusCodeOf(res)]).toEqual([400, 'INGEST_BAD_METADATA']);
    }
    const ok = await create(`title ${b64('x')},passthrough ${b64('p'.repeat(255))}`, 10);
    expect(ok.status).toBe(201);
  });

  it('answers CORS preflights of the API for listed origins only', async () => {
    const preflight = (origin: string, path: string, method: string): Promise<Response> =>
      fetch(`${t.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
      });
    const ok = await preflight(ALLOWED, '/api/upload-tokens', 'POST');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    const patch = await preflight(ALLOWED, '/api/videos/00000000-0000-4000-8000-000000000000', 'PATCH');
    expect(patch.headers.get('access-control-allow-methods')).toContain('PATCH');

    const refused = await preflight('https://evil.example', '/api/upload-tokens', 'POST');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();

    // The request itself, as the browser sends it after the preflight.
    const issued = await fetch(`${t.url}/api/upload-tokens`, { method: 'POST', headers: { origin: ALLOWED, ...bearer(owner) } });
    expect(issued.status).toBe(201);
    expect(issued.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const health = await fetch(`${t.url}/healthz`, { headers: { origin: ALLOWED } });
    expect(health.headers.get('access-control-allow-origin')).toBeNull();
  });
});
