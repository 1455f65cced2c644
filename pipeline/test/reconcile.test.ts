import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type PipelineMetrics } from '../../core/metrics.ts';
import { QUEUE_NAMES, type TranscodeJobData } from '../../core/types.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { UnfinishedVideos } from '../../db/unfinished-videos.ts';
import { VideoRepository } from '../../db/videos.ts';
import { createLogger } from '../../ops/logger.ts';
import { deleteQueueKeys, waitFor } from '../../test/helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { TEST_REDIS_URL } from '../../test/helpers/env.ts';
import { logLines } from '../../test/helpers/log-lines.ts';
import { Reconciler, requeueTranscode, type ReconcilerOptions } from '../reconcile.ts';
import { redisConnection } from '../redis.ts';
import { checkStuckVideos } from '../stuck-videos.ts';

/** Rows and jobs made by hand against real PostgreSQL and Redis; the whole pipeline runs in reconcile-pipeline.test.ts. */
let db: TestDatabase;
let sql: Sql;
let videos: VideoRepository;
let records: UnfinishedVideos;
let queue: Queue<TranscodeJobData>;
let tmp: string;
let uploadDir: string;
let mastersDir: string;
const prefix = `ksr${randomBytes(4).toString('hex')}`;
const workers: Worker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  sql = createDb({ url: db.url, max: 4 });
  await migrate(sql);
  videos = new VideoRepository(sql);
  records = new UnfinishedVideos(sql);
  queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, { connection: redisConnection(TEST_REDIS_URL), prefix });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-reconcile-'));
  uploadDir = path.join(tmp, 'uploads');
  mastersDir = path.join(tmp, 'masters');
  await mkdir(uploadDir, { recursive: true });
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close(true);
});
afterAll(async () => {
  await queue?.close();
  await deleteQueueKeys(TEST_REDIS_URL, prefix);
  await sql?.end({ timeout: 5 });
  await db?.drop();
  await rm(tmp, { recursive: true, force: true });
});

/** A video row as intake makes it, with its tus upload on disk (unless `file: false`). */
async function video(o: { status?: 'uploaded' | 'processing'; file?: boolean } = {}): Promise<{ id: string; sourcePath: string }> {
  const uploadId = randomBytes(8).toString('hex');
  const v = await videos.createFromUpload({
    uploadId,
    title: 't',
    description: '',
    originalFilename: null,
    uploaderId: 'u1',
    sourceKey: uploadId,
    sourceSizeBytes: 4,
  });
  const sourcePath = path.join(uploadDir, uploadId);
  if (o.file ?? true) await writeFile(sourcePath, 'data');
  if (o.status === 'processing') await videos.markProcessing(v.id, 'transcode');
  return { id: v.id, sourcePath };
}

function reconciler(extra: Partial<ReconcilerOptions> = {}): { r: Reconciler; metrics: PipelineMetrics; log: ReturnType<typeof logLines> } {
  const metrics = createMetrics({ processMetrics: false });
  const log = logLines();
  const logger = createLogger({ level: 'info', destination: log.stream });
  const r = new Reconciler({ records, videos, queue, uploadDir, mastersDir, logger, metrics, heartbeatStaleMs: 10_000, ...extra });
  return { r, metrics, log };
}

async function repairs(m: PipelineMetrics, reason: string): Promise<number> {
  const v = (await m.reconcilerRepairs.get()).values.find((x) => x.labels.reason === reason);
  return v?.value ?? 0;
}

/** A worker on this queue running `fn` for every job (a stand-in for a transcode worker on another host). */
function worker(fn: (job: Job<TranscodeJobData>) => Promise<unknown>): Worker<TranscodeJobData> {
  const w = new Worker<TranscodeJobData>(QUEUE_NAMES.transcode, fn, { connection: redisConnection(TEST_REDIS_URL), prefix });
  workers.push(w);
  return w;
}

describe('reconciler', () => {
  it('re-queues an unfinished video that has no job, with the data intake gives it, once', async () => {
    const a = await video();
    const b = await video({ status: 'processing' });
    const { r, metrics, log } = reconciler();
    const res = await r.runOnce();
    expect(res.ran).toBe(true);
    expect(res.repaired).toEqual(
      expect.arrayContaining([
        { videoId: a.id, reason: 'job_missing' },
        { videoId: b.id, reason: 'job_missing' },
      ]),
    );
    for (const v of [a, b]) {
      const job = await queue.getJob(v.id);
      expect(job?.data).toEqual({ videoId: v.id, sourcePath: v.sourcePath });
      expect(await job?.getState()).toBe('waiting');
    }
    expect(await repairs(metrics, 'job_missing')).toBe(2);
    expect(log.find('reconciler re-queued the transcode of an unfinished video').map((l) => l['videoId'])).toEqual(
      expect.arrayContaining([a.id, b.id]),
    );
    // Jobs are live now: a second pass changes nothing.
    expect((await r.runOnce()).repaired).toEqual([]);
    await queue.obliterate({ force: true });
    for (const v of [a, b]) await videos.markFailed(v.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
  });

  it('leaves a job that another worker is running alone, and a row whose worker heartbeat is fresh', async () => {
    const v = await video({ status: 'processing' });
    await queue.add(QUEUE_NAMES.transcode, { videoId: v.id, sourcePath: v.sourcePath }, { jobId: v.id });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    worker(() => held);
    const active = await waitFor(async () => ((await queue.getJobState(v.id)) === 'active' ? await queue.getJob(v.id) : undefined), {
      timeoutMs: 10_000,
      what: 'job active',
    });
    const { r, metrics } = reconciler();
    expect((await r.runOnce()).repaired).toEqual([]);
    const after = await queue.getJob(v.id);
    expect(await after?.getState()).toBe('active');
    expect(after?.processedOn).toBe(active.processedOn);
    expect(after?.attemptsStarted).toBe(active.attemptsStarted);
    expect(await repairs(metrics, 'job_missing')).toBe(0);

    // Redis lost the job, but the worker still writes its heartbeat: the video is being processed, not lost.
    const w = await video({ status: 'processing' });
    await videos.heartbeat(w.id);
    expect((await r.runOnce()).repaired.map((x) => x.videoId)).not.toContain(w.id);
    expect(await queue.getJob(w.id)).toBeUndefined();
    release();
    await waitFor(async () => ((await queue.getJobState(v.id)) === 'completed' ? true : undefined), { timeoutMs: 10_000, what: 'done' });
    await queue.obliterate({ force: true });
    for (const x of [v, w]) await videos.markFailed(x.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
  });

  it('runs a completed job again when its row is unfinished, and records a failed job on the row instead', async () => {
    const done = await video({ status: 'processing' });
    const corrupt = await video({ status: 'processing' });
    const crashed = await video({ status: 'processing' });
    worker(async (job) => {
      if (job.data.videoId === corrupt.id) throw new UnrecoverableError('TRANSCODE_SOURCE_CORRUPT');
      if (job.data.videoId === crashed.id) throw new UnrecoverableError('worker crashed');
      return 'ok';
    });
    for (const v of [done, corrupt, crashed]) {
      await queue.add(QUEUE_NAMES.transcode, { videoId: v.id, sourcePath: v.sourcePath }, { jobId: v.id });
    }
    await waitFor(
      async () => {
        const states = await Promise.all([done, corrupt, crashed].map((v) => queue.getJobState(v.id)));
        return states.join() === 'completed,failed,failed' ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'jobs finished' },
    );
    await workers.pop()?.close();
    // Within the grace period the worker that finished them may still be writing the rows: hands off.
    expect((await reconciler().r.runOnce()).repaired).toEqual([]);

    const { r, metrics } = reconciler({ finishedGraceMs: 0 });
    const res = await r.runOnce();
    expect(res.repaired).toEqual(
      expect.arrayContaining([
        { videoId: done.id, reason: 'job_completed' },
        { videoId: corrupt.id, reason: 'job_failed' },
        { videoId: crashed.id, reason: 'job_failed' },
      ]),
    );
    const rerun = await queue.getJob(done.id);
    expect(await rerun?.getState()).toBe('waiting');
    expect(rerun?.data).toEqual({ videoId: done.id, sourcePath: done.sourcePath });
    expect(await videos.get(corrupt.id)).toMatchObject({ status: 'rejected', error_code: 'TRANSCODE_SOURCE_CORRUPT' });
    expect(await videos.get(crashed.id)).toMatchObject({ status: 'failed', error_code: 'TRANSCODE_FFMPEG_FAILED' });
    expect(await queue.getJobState(corrupt.id)).toBe('failed'); // not re-run: its attempts are used up
    expect([await repairs(metrics, 'job_completed'), await repairs(metrics, 'job_failed')]).toEqual([1, 2]);
    await queue.obliterate({ force: true });
    await videos.markFailed(done.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
  });

  it('re-queues from a kept master when the upload is gone, and reports a video with neither once', async () => {
    const kept = await video({ status: 'processing', file: false });
    await mkdir(path.join(mastersDir, kept.id), { recursive: true });
    await writeFile(path.join(mastersDir, kept.id, 'master.mp4'), 'master');
    await videos.recordStrippedMaster(kept.id, { key: `${kept.id}/master.mp4`, sha256: 'a'.repeat(64), sizeBytes: 6 });
    const lost = await video({ file: false });
    const { r, log } = reconciler();
    const res = await r.runOnce();
    expect(res.repaired).toContainEqual({ videoId: kept.id, reason: 'job_missing' });
    // prepare starts from the master and never opens the path; the job keeps the upload's path as intake gave it.
    expect((await queue.getJob(kept.id))?.data).toEqual({ videoId: kept.id, sourcePath: kept.sourcePath });
    expect(res.sourceMissing).toEqual([lost.id]);
    expect(await queue.getJob(lost.id)).toBeUndefined();
    await r.runOnce();
    expect(log.find(/neither its upload nor its master/).map((l) => l['videoId'])).toEqual([lost.id]);
    await queue.obliterate({ force: true });
    for (const v of [kept, lost]) await videos.markFailed(v.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
  });

  it('runs in one process at a time (advisory lock)', async () => {
    const v = await video();
    let release: (() => void) | undefined;
    const holding = records.whileLocked(() => new Promise<void>((resolve) => (release = resolve)));
    await waitFor(async () => (release ? true : undefined), { timeoutMs: 5000, what: 'lock held' });
    const { r, metrics } = reconciler();
    expect(await r.runOnce()).toMatchObject({ ran: false, repaired: [] });
    expect(await queue.getJob(v.id)).toBeUndefined();
    expect((await metrics.reconcilerRuns.get()).values).toContainEqual(
      expect.objectContaining({ labels: { outcome: 'locked' }, value: 1 }),
    );
    release?.();
    expect(await holding).toEqual({ ran: true, value: undefined });
    expect((await r.runOnce()).repaired).toContainEqual({ videoId: v.id, reason: 'job_missing' });
    await queue.obliterate({ force: true });
    await videos.markFailed(v.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
  });

  it('requeueTranscode replaces a finished job and leaves a live one', async () => {
    const v = await video();
    expect(await requeueTranscode(queue, { videoId: v.id, sourcePath: v.sourcePath })).toBe(true);
    expect(await requeueTranscode(queue, { videoId: v.id, sourcePath: '/elsewhere' })).toBe(false);
    expect((await queue.getJob(v.id))?.data.sourcePath).toBe(v.sourcePath);
    worker(async () => 'ok');
    await waitFor(async () => ((await queue.getJobState(v.id)) === 'completed' ? true : undefined), { timeoutMs: 10_000, what: 'done' });
    await workers.pop()?.close();
    expect(await requeueTranscode(queue, { videoId: v.id, sourcePath: '/restored' })).toBe(true);
    expect(await queue.getJobState(v.id)).toBe('waiting');
    expect((await queue.getJob(v.id))?.data.sourcePath).toBe('/restored');
    await queue.obliterate({ force: true });
    await videos.markFailed(v.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
  });
});

describe('stuck videos and withdrawn previews', () => {
  it('logs each stuck spell once and keeps the gauge at the deployment-wide count', async () => {
    const v = await video({ status: 'processing' });
    const fresh = await video();
    // Time passes for this row: every timestamp the check compares moves back together.
    const age = async (minutes: number): Promise<void> => {
      await sql`UPDATE videos SET updated_at = updated_at - make_interval(mins => ${minutes}),
        stuck_reported_at = stuck_reported_at - make_interval(mins => ${minutes}) WHERE id = ${v.id}`;
    };
    await age(90);
    const metrics = createMetrics({ processMetrics: false });
    const log = logLines();
    const o = { records, minutes: 60, metrics, logger: createLogger({ level: 'info', destination: log.stream }) };
    expect((await checkStuckVideos(o)).reported.map((x) => x.id)).toEqual([v.id]);
    expect((await metrics.videosStuck.get()).values[0]?.value).toBe(1);
    expect((await checkStuckVideos(o)).reported).toEqual([]); // the same spell: not logged again
    expect((await metrics.videosStuck.get()).values[0]?.value).toBe(1);
    // It moved, then got stuck again: a new spell, logged again.
    await videos.setProgress(v.id, 'transcode', 40);
    await age(61);
    expect((await checkStuckVideos(o)).reported.map((x) => x.id)).toEqual([v.id]);
    expect(log.find('video stuck: unfinished and unchanged for STUCK_VIDEO_MINUTES').map((l) => l['videoId'])).toEqual([v.id, v.id]);
    for (const x of [v, fresh]) await videos.markFailed(x.id, 'failed', 'TRANSCODE_CANCELLED', 'test done');
    expect((await checkStuckVideos(o)).stuck).toBe(0);
  });

  it('clearPreview withdraws a processing preview and revokes its URLs; a ready video keeps its epoch', async () => {
    const v = await video({ status: 'processing' });
    await videos.markPreviewable(v.id, { hlsPrefix: `hls/${v.id}`, masterKey: `hls/${v.id}/master.m3u8` });
    const before = (await videos.accessState(v.id))!;
    expect(before.previewable).toBe(true);
    expect(await videos.clearPreview(v.id)).toBe(true);
    expect(await videos.accessState(v.id)).toMatchObject({ previewable: false, access_epoch: before.access_epoch + 1 });
    expect(await videos.clearPreview(v.id)).toBe(false); // nothing left to withdraw: no second bump
    await videos.markPreviewable(v.id, { hlsPrefix: `hls/${v.id}`, masterKey: `hls/${v.id}/master.m3u8` });
    await videos.markReady(v.id, { hlsPrefix: `hls/${v.id}`, masterKey: `hls/${v.id}/master.m3u8`, renditions: [] });
    const ready = (await videos.accessState(v.id))!;
    expect(await videos.clearPreview(v.id)).toBe(true);
    expect((await videos.accessState(v.id))?.access_epoch).toBe(ready.access_epoch);
  });
});
