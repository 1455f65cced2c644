import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../webhooks/signature.ts';
import { call } from './http.ts';

const SECRET = 'webhook-test-secret-0123456789';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  verified: boolean;
  status: number;
}
interface EventBody {
  id: string;
  type: string;
  data: { videoId: string; code?: string; notes?: string };
}

describe('outgoing webhooks', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let receiver: Server;
  let tmp: string;
  const received: Received[] = [];
  /** The receiver answers 500 to the first delivery of each event, so every event is retried once. */
  const seenEvents = new Set<string>();

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        const id = (JSON.parse(body) as EventBody).id;
        const status = seenEvents.has(id) ? 204 : 500;
        seenEvents.add(id);
        received.push({
          headers: req.headers,
          body,
          status,
          verified: verifyWebhook({ secret: SECRET, header: req.headers[SIGNATURE_HEADER] as string, body }),
        });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    t = await startTestApp({
      env: { WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`, WEBHOOK_SECRET: SECRET, WEBHOOK_BACKOFF_MS: '50', WEBHOOK_ATTEMPTS: '3' },
    });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-wh-'));
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
    await new Promise((r) => receiver?.close(r));
    await rm(tmp, { recursive: true, force: true });
  });

  const delivered = (type: string, videoId: string) =>
    waitFor(
      async () => {
        const ok = received.find(
          (r) =>
            r.status === 204 &&
            (JSON.parse(r.body) as EventBody).type === type &&
            (JSON.parse(r.body) as EventBody).data.videoId === videoId,
        );
        return ok ? (JSON.parse(ok.body) as EventBody) : undefined;
      },
      { timeoutMs: 60_000, what: `${type} delivered` },
    );

  it('sends video.ready from the pipeline and video.approved from moderation, signed, retried after a 500', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'c.mp4'), durationSec: 2, width: 320, height: 180 });
    const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { filename: 'c.mp4', title: 'hook' });
    const ready = await delivered('video.ready', videoId);
    expect(ready.data.videoId).toBe(videoId);
    const mod = await tokenFor('mod', 'moderator');
    await call(t.url, 'POST', `/api/moderation/videos/${videoId}/approve`, { token: mod, body: { notes: 'ok' } });
    const approved = await delivered('video.approved', videoId);
    expect(approved.data.notes).toBe('ok');
    const attempts = received.filter((r) => (JSON.parse(r.body) as EventBody).id === approved.id);
    expect(attempts.map((r) => r.status)).toEqual([500, 204]);
    expect(attempts.every((r) => r.verified)).toBe(true);
    expect(attempts[0]!.headers['x-kidstream-event']).toBe('video.approved');
    expect(attempts[0]!.headers[SIGNATURE_HEADER]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const log = await sql<Array<{ attempt: number; ok: boolean; status_code: number }>>`
      SELECT attempt, ok, status_code FROM webhook_deliveries WHERE event_id = ${approved.id} ORDER BY id`;
    expect(log.map((l) => [l.attempt, l.ok, l.status_code])).toEqual([
      [1, false, 500],
      [2, true, 204],
    ]);
  });

  it('sends video.failed with the error code when the upload is not a video', async () => {
    const bad = path.join(tmp, 'bad.mp4');
    await writeFile(bad, videoLikeBytes(4096)); // past the first-bytes check, refused by the pipeline
    const { videoId } = await tusUpload(`${t.url}/uploads`, bad, { filename: 'bad.mp4', title: 'bad' });
    const failed = await delivered('video.failed', videoId);
    expect(failed.data.code).toBe('INGEST_UNREADABLE');
  });

  it('verification rejects a tampered body, a wrong secret and a stale timestamp', () => {
    const r = received.find((x) => x.verified)!;
    const header = r.headers[SIGNATURE_HEADER] as string;
    expect(verifyWebhook({ secret: SECRET, header, body: r.body })).toBe(true);
    expect(verifyWebhook({ secret: SECRET, header, body: r.body.replace('video', 'vidEo') })).toBe(false);
    expect(verifyWebhook({ secret: 'other-secret-000000', header, body: r.body })).toBe(false);
    expect(verifyWebhook({ secret: SECRET, header, body: r.body, now: () => Date.now() + 3600_000 })).toBe(false);
  });
});
