import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Job } from 'bullmq';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { createDb } from '../../db/client.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { TEST_PLAYBACK_KEY, tokenFor } from '../../test/helpers/auth.ts';
import { fetchUploadToken, tusUpload } from '../../test/helpers/tus-upload.ts';
import { redactUrl, REDACTED, withLogRedaction } from '../log-redaction.ts';
import { PlaybackSigner } from '../playback/signing.ts';
import { createWebhookProcessor } from '../webhooks/deliver.ts';
import type { WebhookJobData } from '../webhooks/relay.ts';
import { seedVideo } from '../../test/helpers/seed.ts';

/** Collects every line the app logs, as raw text (what would land in a log file). */
function lineSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

describe('request logs never contain tokens or signatures', () => {
  let t: TestApp;
  let tmp: string;
  const sink = lineSink();
  /** Every secret sent in this file; none may appear in any log line. */
  const secrets: string[] = [];
  const secret = <T extends string>(s: T): T => {
    secrets.push(s);
    return s;
  };

  beforeAll(async () => {
    // trace: the most verbose level, so every line the app can write about a request is checked.
    t = await startTestApp({ roles: ['api'], env: { LOG_LEVEL: 'trace' }, logStream: sink.stream });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-logs-'));
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** Lines whose request URL is logged (fastify's "incoming request"). */
  const loggedUrls = (): string[] =>
    sink.lines.map((l) => JSON.parse(l) as { req?: { url?: string } }).flatMap((l) => (typeof l.req?.url === 'string' ? [l.req.url] : []));

  /** Waits until the app logged the completion of a marker request sent after everything else. */
  async function drain(): Promise<void> {
    const id = `drain-${Math.random().toString(36).slice(2)}`;
    await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': id } });
    await waitFor(async () => (sink.lines.some((l) => l.includes(id) && l.includes('request completed')) ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'the marker request in the log',
    });
  }

  it('redacts ?access_token=, Authorization, Cookie and X-Api-Key on API routes, keeping the path', async () => {
    const viaQuery = secret(await tokenFor('alice', 'uploader'));
    expect((await fetch(`${t.url}/api/videos?limit=5&access_token=${viaQuery}`)).status).toBe(200);
    const encodedName = secret(await tokenFor('bob', 'uploader'));
    expect((await fetch(`${t.url}/api/videos?access%5Ftoken=${encodedName}`)).status).toBe(200);
    const viaHeader = secret(await tokenFor('carol', 'uploader'));
    const res = await fetch(`${t.url}/api/videos`, {
      headers: {
        authorization: `Bearer ${viaHeader}`,
        cookie: `session=${secret('cookie-secret-123456')}`,
        'x-api-key': secret('api-key-secret-654321'),
      },
    });
    expect(res.status).toBe(200);
    // A rejected token is a secret too (it may be a real one, just expired).
    expect((await fetch(`${t.url}/api/videos?access_token=${secret('not-a-valid-jwt-but-secret')}`)).status).toBe(401);
    expect((await fetch(`${t.url}/no/such/route?token=${secret('route-token-secret')}&page=2`)).status).toBe(404);
    await drain();
    const urls = loggedUrls();
    expect(urls).toContain(`/api/videos?limit=5&access_token=${REDACTED}`);
    expect(urls).toContain(`/api/videos?access%5Ftoken=${REDACTED}`);
    expect(urls).toContain('/api/videos');
    expect(urls).toContain(`/no/such/route?token=${REDACTED}&page=2`);
  });

  it('redacts ?sig= of signed HLS URLs', async () => {
    const sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
    const id = await seedVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'alice' }).finally(() => sql.end());
    const { sig } = new PlaybackSigner({ key: TEST_PLAYBACK_KEY, ttlSec: 600 }).sign(id, { audience: 'owner', principalId: 'alice' }, 0);
    secret(sig);
    secret(sig.split('.').pop()!); // the MAC alone is the secret part
    for (const rel of ['master.m3u8', 'v0/seg_000.m4s']) {
      expect((await fetch(`${t.url}/hls/${id}/${rel}?sig=${encodeURIComponent(sig)}`)).status).toBe(200);
    }
    await drain();
    expect(loggedUrls()).toEqual(
      expect.arrayContaining([`/hls/${id}/master.m3u8?sig=${REDACTED}`, `/hls/${id}/v0/seg_000.m4s?sig=${REDACTED}`]),
    );
  });

  it('never logs the Upload-Token of tus requests', async () => {
    const token = secret(await fetchUploadToken(t.url, 'dave'));
    const file = path.join(tmp, 'clip.bin');
    await writeFile(file, videoLikeBytes(3000));
    const up = await tusUpload(`${t.url}/uploads`, file, { title: 'logged', filename: 'clip.bin' }, { token, chunkSize: 1000 });
    expect(up.videoId).toBeTruthy();
    // A refused creation (bad metadata) takes the error path.
    const bad = await fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '5', 'Upload-Token': token },
    });
    expect(bad.status).toBe(400);
    await drain();
    expect(loggedUrls().filter((u) => u.startsWith('/uploads')).length).toBeGreaterThanOrEqual(4);
  });

  it('a failed webhook delivery does not put a token in the receiver URL into its error (worker log, failedReason)', async () => {
    const receiver = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const sql = createDb({ url: t.db.url, max: 1 });
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=${secret('receiver-token-secret')}`;
      const deliver = createWebhookProcessor({ sql, secret: 'w'.repeat(16), timeoutMs: 5000 });
      const event = { id: randomUUID(), type: 'video.ready' as const, createdAt: new Date().toISOString(), data: {} };
      const job = { data: { url, event }, attemptsMade: 0 } as unknown as Job<WebhookJobData>;
      const err = await deliver(job).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'WEBHOOK_DELIVERY_FAILED', context: { url: expect.stringContaining(`token=${REDACTED}`) } });
      expect((err as Error).message).not.toContain('receiver-token-secret');
    } finally {
      await sql.end();
      await new Promise((r) => receiver.close(r));
    }
  });

  it('no log line contains any secret sent in this file', () => {
    expect(sink.lines.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    const leaks = secrets.flatMap((s) => sink.lines.filter((l) => l.includes(s)).map((l) => `${s.slice(0, 12)}… in ${l.slice(0, 200)}`));
    expect(leaks).toEqual([]);
  });
});

describe('redaction rules', () => {
  it('redacts credential-like query values, keeping names, order and other parameters', () => {
    expect(redactUrl('/a/b')).toBe('/a/b');
    expect(redactUrl('/a?x=1&Access_Token=abc&sig=1.p.zz&exp=9&X-Amz-Signature=f&api_key=k&author=me')).toBe(
      `/a?x=1&Access_Token=${REDACTED}&sig=${REDACTED}&exp=9&X-Amz-Signature=${REDACTED}&api_key=${REDACTED}&author=me`,
    );
    expect(redactUrl('/a?id%5Ftoken=abc&bad=%E0%A4%A')).toBe(`/a?id%5Ftoken=${REDACTED}&bad=%E0%A4%A`);
  });

  it('censors credential headers when a handler logs a headers object', () => {
    const lines: string[] = [];
    const logger = withLogRedaction(
      pino(
        new Writable({
          write(c: Buffer, _e, cb) {
            lines.push(c.toString());
            cb();
          },
        }),
      ),
    );
    logger.info({ headers: { authorization: 'Bearer h1', 'upload-token': 'h2', accept: 'json' } }, 'headers');
    logger.info({ req: { headers: { cookie: 'h3' } }, url: '/x?token=h4' }, 'nested');
    const text = lines.join('');
    for (const s of ['h1', 'h2', 'h3', 'h4']) expect(text).not.toContain(`${s}"`);
    expect(text).toContain('"accept":"json"');
    expect(text).toContain(`/x?token=${REDACTED}`);
  });
});
