import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandler } from '../../api/errors.ts';
import { registerStreamWebhook } from '../../api/stream-webhook.ts';
import { patternChunks } from '../../bench/pattern.ts';
import { startS3rver, type RunningS3rver } from '../../bench/s3rver-server.ts';
import { ArchiveRecords } from '../../db/archive-records.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { VideoRepository } from '../../db/videos.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { archiveMaster } from '../archive/archive.ts';
import { LocalDiskStorage } from '../local-disk.ts';
import { S3Storage } from '../s3.ts';
import { StreamClient } from '../stream/client.ts';
import { applyStreamVideo, offloadToStream, refreshPendingStream } from '../../pipeline/stream-offload.ts';
import { verifyStreamWebhook } from '../stream/webhook.ts';
import { expectCode } from './conformance.ts';
import { startStreamStub, streamSignature, type StreamStub } from '../../test/helpers/stream-stub.ts';

const logger = { info: () => undefined, debug: () => undefined, warn: () => undefined, error: () => undefined };
const SECRET = 'whsec-test-85011ed3a913c6ad5f9cf6c5573cc0a7';

describe('Cloudflare Stream offload (against the local stub)', () => {
  let stub: StreamStub;
  let server: RunningS3rver;
  let s3: S3Storage;
  let db: TestDatabase;
  let sql: Sql;
  let records: ArchiveRecords;
  let videos: VideoRepository;
  let tmp: string;
  let master: string;
  let masterSha: string;
  let api: FastifyInstance;
  let webhookUrl: string;
  const sleeps: number[] = [];
  const client = (o: { token?: string; maxRetries?: number } = {}): StreamClient =>
    new StreamClient({
      accountId: stub.accountId,
      apiToken: o.token ?? stub.token,
      apiBase: stub.apiBase,
      logger,
      maxRetries: o.maxRetries,
      tusChunkSize: 5 * 1024 * 1024,
      sleep: async (ms) => void sleeps.push(ms),
    });
  const newVideo = async (): Promise<string> =>
    (
      await videos.createFromUpload({
        uploadId: `u-${Math.random()}`,
        title: 't',
        description: '',
        originalFilename: null,
        uploaderId: null,
        sourceKey: 'k',
        sourceSizeBytes: 1,
      })
    ).id;

  beforeAll(async () => {
    stub = await startStreamStub();
    server = await startS3rver(['archive']);
    s3 = await S3Storage.create({ endpoint: server.endpoint, bucket: 'archive', accessKey: server.accessKey, secretKey: server.secretKey });
    db = await createTestDatabase();
    sql = createDb({ url: db.url, max: 2 });
    await migrate(sql);
    records = new ArchiveRecords(sql);
    videos = new VideoRepository(sql);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-stream-'));
    master = path.join(tmp, 'master.mp4');
    await writeFile(master, Buffer.concat([...patternChunks(6 * 1024 * 1024 + 77)])); // > one 5 MiB tus chunk
    masterSha = createHash('sha256')
      .update(await readFile(master))
      .digest('hex');
    api = Fastify();
    installErrorHandler(api);
    await registerStreamWebhook(api, { secret: SECRET, onVideo: (v) => applyStreamVideo(records, v) });
    webhookUrl = `${await api.listen({ host: '127.0.0.1', port: 0 })}/webhooks/stream`;
  });
  afterAll(async () => {
    await api?.close();
    await stub?.close();
    await server?.close();
    await sql?.end({ timeout: 5 });
    await db?.drop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('happy path: copy from a presigned archive URL, poll to ready, webhook stores playback URLs', async () => {
    const id = await newVideo();
    await archiveMaster({ storage: s3, localPath: master, key: `masters/${id}`, logger });
    const r = await offloadToStream({
      client: client(),
      records,
      videoId: id,
      name: 'Kite',
      archive: s3,
      archiveKey: `masters/${id}`,
      localPath: master,
    });
    expect(r.via).toBe('copy');
    const sv = stub.videos.get(r.uid)!;
    expect(sv.sha256).toBe(masterSha); // the stub really downloaded the presigned URL
    expect(sv.requireSignedURLs).toBe(true);
    expect(sv.meta).toMatchObject({ name: 'Kite', videoId: id });
    expect((await records.get(id))?.stream_uid).toBe(r.uid);
    // Poll fallback (lost webhook): one GET moves the stored state on.
    const later = (): number => Date.now() + 3600_000;
    expect(await refreshPendingStream({ client: client(), records, logger, now: later })).toBeGreaterThanOrEqual(1);
    expect((await records.get(id))?.stream_state).toBe('queued');
    await refreshPendingStream({ client: client(), records, logger, now: later });
    expect((await records.get(id))?.stream_state).toBe('inprogress');

    const ready = await client().waitUntilReady(r.uid, { intervalMs: 1 });
    expect(ready).toMatchObject({ state: 'ready', readyToStream: true });
    const res = await stub.sendWebhook(webhookUrl, r.uid, SECRET);
    expect(res.status).toBe(200);
    expect(await records.get(id)).toMatchObject({ stream_state: 'ready', stream_hls_url: ready.hlsUrl, stream_error_code: null });
  });

  it('uploads over tus with Upload-Metadata when the archive has no URL (local disk)', async () => {
    const id = await newVideo();
    const local = new LocalDiskStorage({ root: path.join(tmp, 'local-archive') });
    await archiveMaster({ storage: local, localPath: master, key: `masters/${id}`, logger });
    const r = await offloadToStream({
      client: client(),
      records,
      videoId: id,
      name: 'Private kite',
      archive: local,
      archiveKey: `masters/${id}`,
      localPath: master,
    });
    expect(r.via).toBe('tus');
    const sv = stub.videos.get(r.uid)!;
    expect(sv.sha256).toBe(masterSha);
    expect(sv.received.length).toBe(2); // two tus PATCH chunks
    expect(sv.meta['name']).toBe('Private kite');
    expect(sv.requireSignedURLs).toBe(true);
    expect((await records.get(id))?.stream_uid).toBe(r.uid);
  });

  it('honours Retry-After on 429 and gives up with STREAM_RATE_LIMITED', async () => {
    const uid = [...stub.videos.keys()][0]!;
    sleeps.length = 0;
    stub.rateLimitNext(2, 3);
    expect((await client().get(uid)).uid).toBe(uid);
    expect(sleeps).toEqual([3000, 3000]);
    stub.rateLimitNext(10, 1);
    await expectCode(client({ maxRetries: 2 }).get(uid), 'STREAM_RATE_LIMITED');
    stub.rateLimitNext(0, 0);
  });

  it('fails fast on 4xx with STREAM_API_ERROR and the envelope errors', async () => {
    const before = stub.requests.length;
    const err = await client({ token: 'wrong' })
      .get('abc')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STREAM_API_ERROR', context: { status: 403, errors: [{ code: 10000 }] } });
    expect(stub.requests.length - before).toBe(1); // no retries on 4xx
    await expectCode(
      client().copyFromUrl({ url: `${server.endpoint}/archive/nope`, name: 'x', requireSignedURLs: true }),
      'STREAM_API_ERROR',
    );
    await expectCode(client().get('0'.repeat(32)), 'STREAM_API_ERROR');
  });

  it('reports state:error as STREAM_VIDEO_FAILED with the reason (errReasonCode spelling)', async () => {
    stub.failWith = 'ERR_NON_VIDEO';
    try {
      const id = await newVideo();
      await archiveMaster({ storage: s3, localPath: master, key: `masters/${id}`, logger });
      const r = await offloadToStream({
        client: client(),
        records,
        videoId: id,
        name: 'bad',
        archive: s3,
        archiveKey: `masters/${id}`,
        localPath: master,
      });
      const err = await client()
        .waitUntilReady(r.uid, { intervalMs: 1 })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STREAM_VIDEO_FAILED', context: { errorReasonCode: 'ERR_NON_VIDEO' } });
      expect((await stub.sendWebhook(webhookUrl, r.uid, SECRET)).status).toBe(200);
      expect(await records.get(id)).toMatchObject({ stream_state: 'error', stream_error_code: 'ERR_NON_VIDEO' });
    } finally {
      stub.failWith = undefined;
    }
  });

  it('rejects forged, tampered and stale webhooks with stable codes', async () => {
    const uid = [...stub.videos.keys()][0]!;
    const forged = await stub.sendWebhook(webhookUrl, uid, 'not-the-secret');
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: { code: 'STREAM_WEBHOOK_INVALID' } });
    const stale = await stub.sendWebhook(webhookUrl, uid, SECRET, Math.floor(Date.now() / 1000) - 600);
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ error: { code: 'STREAM_WEBHOOK_STALE' } });
    const unsigned = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(await unsigned.json()).toMatchObject({ error: { code: 'STREAM_WEBHOOK_INVALID' } });

    const now = new Date('2026-11-23T10:00:00Z');
    const t = now.getTime() / 1000;
    const body = JSON.stringify({ uid, status: { state: 'error', errorReasonCode: 'ERR_DURATION_EXCEED_CONSTRAINT' } });
    const header = `time=${t},sig1=${streamSignature(SECRET, t, body)}`;
    expect(verifyStreamWebhook({ header, rawBody: body, secret: SECRET, now: () => now.getTime() }).errorReasonCode).toBe(
      'ERR_DURATION_EXCEED_CONSTRAINT',
    );
    expect(() =>
      verifyStreamWebhook({ header, rawBody: body.replace('error', 'ready'), secret: SECRET, now: () => now.getTime() }),
    ).toThrow(expect.objectContaining({ code: 'STREAM_WEBHOOK_INVALID' }));
  });
});
