import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.ts';
import { makeClip } from '../helpers/media.ts';
import { fetchUploadToken, tusUpload } from '../helpers/tus-upload.ts';
import { startDeployment, type Deployment } from './deployment.ts';

describe('faults: webhooks while Redis is down, a full disk, a family behind one NAT', () => {
  let d: Deployment;
  let tmp: string;
  let hooks: Server;
  let received: Array<{ type: string; data: Record<string, unknown> }>;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-fault-edge-'));
    received = [];
    hooks = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as { type: string; data: Record<string, unknown> });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    d = await startDeployment({
      WEBHOOK_URLS: hookUrl,
      WEBHOOK_SECRET: 'fault-webhook-secret-0123456789',
      WEBHOOK_BACKOFF_MS: '200',
      RATE_LIMIT_MAX: '60',
    });
  });
  afterAll(async () => {
    await d?.close();
    await new Promise<void>((r) => hooks.close(() => r()));
    await rm(tmp, { recursive: true, force: true });
  });

  it('an approval made while Redis is down still reaches the webhook receiver once Redis is back', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'hook.mp4'), durationSec: 2, width: 320, height: 180 });
    const up = await tusUpload(`${d.url}/uploads`, clip, { title: 'Hooked' }, { uploaderId: 'fault-hooks' });
    expect((await d.settled(up.videoId)).status).toBe('ready');
    await waitFor(async () => (received.some((e) => e.type === 'video.ready' && e.data['videoId'] === up.videoId) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'video.ready delivered',
    });
    await d.redis.stop();
    const res = await fetch(`${d.url}/api/moderation/videos/${up.videoId}/approve`, {
      method: 'POST',
      headers: { ...d.mod, 'content-type': 'application/json' },
      body: JSON.stringify({ notes: 'fine' }),
    });
    expect(res.status).toBe(200);
    await d.redis.start();
    await waitFor(async () => (received.some((e) => e.type === 'video.approved' && e.data['videoId'] === up.videoId) ? true : undefined), {
      timeoutMs: 60_000,
      what: 'video.approved delivered after the outage',
    });
    expect(received.filter((e) => e.type === 'video.approved' && e.data['videoId'] === up.videoId)).toHaveLength(1);
  });

  it('a family behind one NAT resumes several uploads without hitting the per-IP API budget', async () => {
    const token = await fetchUploadToken(d.url, 'fault-nat');
    const meta = `title ${Buffer.from('nat').toString('base64')}`;
    const locations: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${d.url}/uploads`, {
        method: 'POST',
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-token': token, 'upload-metadata': meta },
      });
      expect(res.status).toBe(201);
      locations.push(new URL(res.headers.get('location')!, d.url).toString());
    }
    // 100 HEADs (more than RATE_LIMIT_MAX=60 per IP and minute), spread over both uploads, as resuming clients send them.
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(locations[i % 2]!, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 429)).toEqual([]);
  });
});
