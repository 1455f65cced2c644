import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../core/types.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { VideoAdminRepository } from '../../db/video-admin.ts';
import { VideoRepository } from '../../db/videos.ts';
import { WebhookOutbox } from '../../db/webhook-outbox.ts';
import { redisConnection } from '../../pipeline/redis.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { deleteQueueKeys, startTestApp, waitFor } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { TEST_REDIS_URL } from '../../test/helpers/env.ts';
import { seedVideo } from '../../test/helpers/seed.ts';
import { startWebhookReceiver } from '../../test/helpers/webhook-receiver.ts';
import { startTcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { createWebhookProcessor } from '../webhooks/deliver.ts';
import { relayWebhookEvents, type WebhookJobData } from '../webhooks/relay.ts';
import { call } from './http.ts';

const SECRET = 'outbox-test-secret-0123456789';

describe('webhook outbox: events are stored with the state change and relayed from there', () => {
  let db: TestDatabase;
  let sql: Sql;
  let videos: VideoRepository;
  let outbox: WebhookOutbox;
  let queue: Queue<WebhookJobData>;
  const prefix = `kso${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = createDb({ url: db.url, max: 4 });
    await migrate(sql);
    videos = new VideoRepository(sql);
    outbox = new WebhookOutbox(sql);
    queue = new Queue<WebhookJobData>(QUEUE_NAMES.webhook, { connection: redisConnection(TEST_REDIS_URL), prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await sql?.end();
    await db?.drop();
    await deleteQueueKeys(TEST_REDIS_URL, prefix);
  });

  const newVideo = async (): Promise<string> =>
    (
      await videos.createFromUpload({
        uploadId: randomBytes(8).toString('hex'),
        title: 'outbox',
        description: '',
        originalFilename: null,
        uploaderId: 'u1',
        sourceKey: 'k',
        sourceSizeBytes: 1,
      })
    ).id;

  it('writes one event per transition, in the transaction of the change', async () => {
    const failed = await newVideo();
    await videos.markFailed(failed, 'failed', 'TRANSCODE_FFMPEG_FAILED', 'x');
    await videos.markFailed(failed, 'failed', 'TRANSCODE_FFMPEG_FAILED', 'recorded twice');
    const failedEvents = await outbox.ofVideo(failed);
    expect(failedEvents.map((e) => e.event_type)).toEqual(['video.created', 'video.failed']);
    expect(failedEvents[1]!.data).toMatchObject({
      videoId: failed,
      code: 'TRANSCODE_FFMPEG_FAILED',
      status: 'failed',
      passthrough: null,
      video: { id: failed, status: 'failed', title: 'outbox' },
    });
    const infected = await newVideo();
    await videos.markInfected(infected, { signature: 'Eicar', sha256: 'a'.repeat(64), quarantinePath: '/q/x' });
    expect((await outbox.ofVideo(infected)).map((e) => e.data).slice(1)).toMatchObject([
      { videoId: infected, code: 'INGEST_INFECTED', status: 'infected' },
    ]);

    const ready = await newVideo();
    await videos.markReady(ready, { hlsPrefix: `hls/${ready}`, masterKey: `hls/${ready}/master.m3u8`, renditions: [] });
    const admin = new VideoAdminRepository(sql);
    await admin.moderate(ready, 'approved', 'fine', { id: 'mod', role: 'moderator' });
    expect((await outbox.ofVideo(ready)).map((e) => e.event_type)).toEqual(['video.created', 'video.ready', 'video.approved']);
    // A refused decision (approving a video that is not ready) changes nothing and stores no event.
    const busy = await newVideo();
    expect((await admin.moderate(busy, 'approved', 'no', { id: 'mod', role: 'moderator' }))?.notReady).toBe(true);
    expect((await outbox.ofVideo(busy)).map((e) => e.event_type)).toEqual(['video.created']);
    // Deleting stores video.deleted with the public fields of the row that was removed.
    await admin.delete(busy, { id: 'u1', role: 'uploader' });
    const last = (await outbox.ofVideo(busy)).at(-1)!;
    expect([last.event_type, last.data]).toMatchObject(['video.deleted', { videoId: busy, deletedBy: 'u1', video: { id: busy } }]);
  });

  it('a queue that is down leaves events pending; the next relay queues each once, even after a crash half-way', async () => {
    const receiver = await startWebhookReceiver(SECRET);
    const base = { outbox, urls: [receiver.url], attempts: 3, backoffMs: 50 };
    const pending = async (): Promise<number> =>
      (await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM webhook_outbox WHERE relayed_at IS NULL`)[0]!.n;
    const stored = await pending();
    expect(stored).toBeGreaterThan(0);
    const down = { addBulk: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) };
    await expect(relayWebhookEvents({ ...base, queue: down })).rejects.toThrow('ECONNREFUSED');
    expect(await pending()).toBe(stored);
    // The jobs reach Redis, then the process dies before the rows are marked relayed.
    const crashAfterQueueing = {
      addBulk: async (jobs: Parameters<Queue<WebhookJobData>['addBulk']>[0]) => {
        await queue.addBulk(jobs);
        throw new Error('killed before marking');
      },
    };
    await expect(relayWebhookEvents({ ...base, queue: crashAfterQueueing })).rejects.toThrow('killed');
    expect(await pending()).toBe(stored);
    expect(await relayWebhookEvents({ ...base, queue })).toBe(stored);
    expect(await pending()).toBe(0);
    expect(await relayWebhookEvents({ ...base, queue })).toBe(0);
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'active', 'completed', 'failed')).toBe(stored);

    const worker = new Worker<WebhookJobData>(QUEUE_NAMES.webhook, createWebhookProcessor({ sql, secret: SECRET, timeoutMs: 5000 }), {
      connection: redisConnection(TEST_REDIS_URL),
      prefix,
    });
    try {
      await waitFor(async () => (receiver.got.length >= stored ? true : undefined), { timeoutMs: 30_000, what: 'deliveries' });
      const ids = receiver.got.map((g) => g.event.id);
      expect(new Set(ids).size).toBe(ids.length);
      const all = await sql<Array<{ id: string }>>`SELECT id FROM webhook_outbox`;
      expect(new Set(ids)).toEqual(new Set(all.map((r) => r.id)));
      expect(receiver.got.every((g) => g.verified)).toBe(true);
      const log = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM webhook_deliveries WHERE ok`;
      expect(log[0]!.n).toBe(stored);
    } finally {
      await worker.close();
      await receiver.close();
    }
  });
});

describe('an event emitted while Redis is unreachable is delivered once it is back', () => {
  it('approve with the app cut off from Redis: the decision commits, the webhook follows, exactly once', async () => {
    const receiver = await startWebhookReceiver(SECRET);
    const redis = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    redis.port = String(proxy.port);
    const t = await startTestApp({
      env: {
        REDIS_URL: redis.toString(),
        WEBHOOK_URLS: receiver.url,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_BACKOFF_MS: '50',
        WEBHOOK_RELAY_INTERVAL_MS: '100',
        LOG_LEVEL: 'silent',
      },
    });
    const sql = createDb({ url: t.db.url, max: 2 });
    try {
      const id = await seedVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'alice' });
      await waitFor(async () => receiver.got.find((g) => g.event.type === 'video.ready' && g.event.data['videoId'] === id), {
        timeoutMs: 30_000,
        what: 'video.ready delivered',
      });
      await proxy.cut();
      const mod = await tokenFor('mod', 'moderator');
      const r = await call(t.url, 'POST', `/api/moderation/videos/${id}/approve`, { token: mod, body: { notes: 'while redis was away' } });
      expect(r.status).toBe(200);
      const [event] = await sql<Array<{ id: string; relayed_at: Date | null }>>`
        SELECT id, relayed_at FROM webhook_outbox WHERE video_id = ${id} AND event_type = 'video.approved'`;
      expect(event?.relayed_at).toBeNull();
      await proxy.restore();
      const got = await waitFor(async () => receiver.got.find((g) => g.event.id === event!.id), {
        timeoutMs: 60_000,
        what: 'video.approved delivered after Redis came back',
      });
      expect(got.event).toMatchObject({ type: 'video.approved', data: { videoId: id, notes: 'while redis was away', moderatedBy: 'mod' } });
      // Relayed once and marked: no later pass can queue it again, and it was sent once.
      await waitFor(
        async () =>
          (await sql<Array<{ relayed_at: Date | null }>>`SELECT relayed_at FROM webhook_outbox WHERE id = ${event!.id}`)[0]?.relayed_at ??
          undefined,
        { timeoutMs: 10_000, what: 'event marked relayed' },
      );
      expect(receiver.got.filter((g) => g.event.id === event!.id)).toHaveLength(1);
      const log = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM webhook_deliveries WHERE event_id = ${event!.id}`;
      expect(log[0]!.n).toBe(1);
    } finally {
      await sql.end();
      await proxy.restore();
      await t.close();
      await proxy.close();
      await receiver.close();
    }
  });
});
