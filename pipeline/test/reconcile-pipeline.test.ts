import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { QUEUE_NAMES, type TranscodeJobData } from '../../core/types.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { VideoRepository, type VideoRow } from '../../db/videos.ts';
import { startApp } from '../../ops/app.ts';
import { createLogger } from '../../ops/logger.ts';
import { deleteQueueKeys, listFiles, startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { logLines } from '../../test/helpers/log-lines.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { redisConnection } from '../redis.ts';

/**
 * PostgreSQL is the source of truth: with every Redis key of the deployment deleted — before any worker ran, and
 * again while one transcodes — every uploaded video still ends `ready`, through the real uploads and pipeline.
 */
let t: TestApp;
let sql: Sql;
let videos: VideoRepository;
let queue: Queue<TranscodeJobData>;
let tmp: string;
let shortClip: string;
let longClip: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-reconcile-e2e-'));
  shortClip = await makeClip({ out: path.join(tmp, 'short.mp4'), durationSec: 2, width: 320, height: 180 });
  longClip = await makeClip({ out: path.join(tmp, 'long.mp4'), durationSec: 10, width: 640, height: 360 });
  // API only: the uploads' jobs wait in Redis until the test starts a worker.
  t = await startTestApp({ roles: ['api'], withClamd: true, env: { RECONCILE_INTERVAL_SEC: '1', FFMPEG_THREADS: '1' } });
  sql = createDb({ url: t.db.url, max: 2 });
  videos = new VideoRepository(sql);
  queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
    connection: redisConnection(t.config.redisUrl),
    prefix: t.config.queuePrefix,
  });
});
afterAll(async () => {
  await queue?.close();
  await sql?.end({ timeout: 5 });
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

const upload = async (file: string): Promise<string> =>
  (await tusUpload(`${t.url}/uploads`, file, { filename: path.basename(file), title: 'reconcile' })).videoId;

function waitForVideo(id: string, done: (v: VideoRow) => boolean, what: string): Promise<VideoRow> {
  return waitFor(
    async () => {
      const v = await videos.get(id);
      return v && done(v) ? v : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 100, what },
  );
}

const isReady = (v: VideoRow): boolean => {
  if (v.status === 'failed' || v.status === 'rejected' || v.status === 'infected')
    throw new Error(`video ${v.id} ${v.status}: ${v.error_code}`);
  return v.status === 'ready';
};

/** Starts a worker process role with its own log; closed when the test ends, whatever happened. */
async function startWorker(preset: string): Promise<{ log: ReturnType<typeof logLines>; repaired: () => unknown[] }> {
  const log = logLines();
  const worker = await startApp({
    config: { ...t.config, x264Preset: preset },
    roles: ['worker'],
    logger: createLogger({ level: 'info', destination: log.stream }),
  });
  onTestFinished(() => worker.close());
  const repaired = (): unknown[] => log.find('reconciler re-queued the transcode of an unfinished video').map((l) => l['videoId']);
  return { log, repaired };
}

describe('reconciler: Redis loses the queue', () => {
  it('Redis wiped before any worker ran: the first worker re-queues every upload from PostgreSQL and all become ready', async () => {
    const ids = [await upload(shortClip), await upload(shortClip), await upload(shortClip)];
    for (const id of ids) expect(await queue.getJobState(id)).toBe('waiting');
    await deleteQueueKeys(t.config.redisUrl, t.config.queuePrefix);
    for (const id of ids) expect(await queue.getJob(id)).toBeUndefined();
    for (const id of ids) expect((await videos.get(id))?.status).toBe('uploaded');

    const { repaired, log } = await startWorker('ultrafast');
    for (const id of ids) await waitForVideo(id, isReady, `${id} ready after the wipe`);
    expect((repaired() as string[]).sort()).toEqual([...ids].sort());
    expect(log.find('reconciler re-queued the transcode of an unfinished video')[0]).toMatchObject({ reason: 'job_missing' });
    expect(await readdir(t.config.workDir)).toEqual([]);
  });

  it('Redis wiped while a worker transcodes: the running job finishes, the waiting one is re-queued, both become ready', async () => {
    const { repaired } = await startWorker('slower');
    const running = await upload(longClip);
    await waitForVideo(running, (v) => v.stage === 'transcode', 'first video transcoding');
    const waiting = await upload(shortClip); // one job at a time: this one waits behind the first
    expect(await queue.getJobState(waiting)).toBe('waiting');
    await deleteQueueKeys(t.config.redisUrl, t.config.queuePrefix);

    await waitForVideo(waiting, isReady, 'waiting video ready after the wipe');
    await waitForVideo(running, isReady, 'running video ready after the wipe');
    // The running job's worker kept writing its heartbeat: it was never queued a second time beside itself.
    expect(repaired()).toContain(waiting);
    expect(repaired()).not.toContain(running);
    for (const id of [running, waiting]) {
      const files = (await listFiles(path.join(t.config.publishDir, 'hls', id))).map((f) => path.basename(f));
      expect(files).toContain('master.m3u8');
    }
    expect(await readdir(t.config.workDir)).toEqual([]); // removed before each row turned ready
  });
});
