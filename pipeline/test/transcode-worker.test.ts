import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, type TranscodeJobData } from '../../core/types.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { VideoRepository, type VideoRow } from '../../db/videos.ts';
import { garbleMiddle } from '../../test/helpers/media-check.ts';
import { listFiles, startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { startApp, type RunningApp } from '../../ops/app.ts';
import { createLogger } from '../../ops/logger.ts';
import { redisConnection } from '../redis.ts';

const run = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Short lock and stalled check so a dead worker's job is re-queued in seconds, not the production minute. */
const FAST_RECOVERY = { JOB_LOCK_MS: '3000', JOB_STALLED_INTERVAL_MS: '1000', TRANSCODE_BACKOFF_MS: '300', FFMPEG_THREADS: '1' };

let tmp: string;
let slowClip: string;

/** pids of ffmpeg processes writing HLS for this test app (its data dir is unique, so nothing else matches). */
async function ffmpegPids(dataDir: string): Promise<number[]> {
  const r = await run('pgrep', ['-f', `${dataDir}.*index\\.m3u8`]).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

interface Harness {
  readonly videos: VideoRepository;
  readonly queue: Queue<TranscodeJobData>;
  readonly sql: Sql;
  close(): Promise<void>;
}

function harness(t: TestApp): Harness {
  const sql = createDb({ url: t.db.url, max: 2 });
  const queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
    connection: redisConnection(t.config.redisUrl),
    prefix: t.config.queuePrefix,
  });
  return {
    videos: new VideoRepository(sql),
    queue,
    sql,
    close: async () => {
      await queue.close();
      await sql.end({ timeout: 5 });
    },
  };
}

async function upload(t: TestApp, file: string): Promise<string> {
  return (await tusUpload(`${t.url}/uploads`, file, { filename: path.basename(file), title: 'worker test' })).videoId;
}

function waitForVideo(h: Harness, id: string, done: (v: VideoRow) => boolean, what: string): Promise<VideoRow> {
  return waitFor(
    async () => {
      const v = await h.videos.get(id);
      return v && done(v) ? v : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 100, what },
  );
}

async function waitForFfmpeg(t: TestApp): Promise<number> {
  return waitFor(async () => (await ffmpegPids(t.dataDir))[0], { timeoutMs: 60_000, intervalMs: 100, what: 'ffmpeg running' });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-worker-'));
  slowClip = await makeClip({ out: path.join(tmp, 'slow.mp4'), durationSec: 10, width: 640, height: 360 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('transcode worker: crashes, retries, cancel', () => {
  let t: TestApp | undefined;
  let h: Harness | undefined;
  const extra: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const x of extra) await x.close();
    await h?.close();
    await t?.close();
  });

  it('a worker process SIGKILLed mid-transcode: its ffmpeg dies, another worker finishes the job, nothing stale is left', async () => {
    t = await startTestApp({ roles: ['api'], env: FAST_RECOVERY, withClamd: true });
    h = harness(t);
    const env = {
      ...process.env,
      DATA_DIR: t.dataDir,
      DATABASE_URL: t.db.url,
      REDIS_URL: t.config.redisUrl,
      QUEUE_PREFIX: t.config.queuePrefix,
      CLAMD_SOCKET: t.config.clamd.socket ?? '',
      LOG_LEVEL: 'warn',
      X264_PRESET: 'slower',
      TRANSCODE_POOL_SIZE: '1',
      ...FAST_RECOVERY,
    };
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'ops/main.ts', '--role', 'worker'], {
      cwd: REPO,
      env,
      stdio: 'ignore',
    });
    extra.push({
      close: async () => {
        child.kill('SIGKILL');
      },
    });
    const id = await upload(t, slowClip);
    await waitForVideo(h, id, (v) => v.stage === 'transcode', 'transcode stage');
    const pid = await waitForFfmpeg(t);
    child.kill('SIGKILL');
    // setpriv --pdeathsig: the kernel kills ffmpeg with its worker, no orphan keeps encoding.
    await waitFor(async () => ((await ffmpegPids(t!.dataDir)).includes(pid) ? undefined : true), {
      timeoutMs: 10_000,
      what: 'orphan ffmpeg gone',
    });
    const prefixDir = path.join(t.config.publishDir, 'hls', id);
    expect(await listFiles(prefixDir)).toEqual([]); // nothing was published by the dead attempt
    // As if an earlier attempt had died half-way through publishing: the retry must not leave this behind.
    await mkdir(path.join(prefixDir, 'v9'), { recursive: true });
    await writeFile(path.join(prefixDir, 'v9', 'seg_00007.m4s'), 'stale');

    const worker: RunningApp = await startApp({
      config: { ...t.config, x264Preset: 'ultrafast' },
      roles: ['worker'],
      logger: createLogger({ level: 'warn' }),
    });
    extra.push(worker);
    const v = await waitForVideo(h, id, (x) => x.status !== 'processing' && x.status !== 'uploaded', 'ready after stalled recovery');
    expect(v.status).toBe('ready');
    const published = (await listFiles(prefixDir)).map((f) => path.relative(prefixDir, f));
    expect(published).not.toContain('v9/seg_00007.m4s');
    expect(published).toContain('master.m3u8');
    expect(published.filter((f) => f.endsWith('index.m3u8')).sort()).toEqual(['audio/index.m3u8', 'v0/index.m3u8', 'v1/index.m3u8']);
    expect(await readdir(t.config.workDir)).toEqual([]);
    await worker.close();
  });

  it('an ffmpeg killed mid-run fails the attempt; the retry completes and progress reached the job and the row', async () => {
    const worker = await startApp({
      config: { ...t!.config, x264Preset: 'medium' },
      roles: ['worker'],
      logger: createLogger({ level: 'silent' }),
    });
    extra.push(worker);
    const id = await upload(t!, slowClip);
    process.kill(await waitForFfmpeg(t!), 'SIGKILL');
    const seen: number[] = [];
    const v = await waitForVideo(
      h!,
      id,
      (x) => {
        if (x.status === 'processing') seen.push(x.progress);
        return x.status === 'ready' || x.status === 'failed';
      },
      'ready after retry',
    );
    expect(v.status).toBe('ready');
    const job = await waitFor(
      async () => {
        const j = await h!.queue.getJob(id);
        return (await j?.getState()) === 'completed' ? j : undefined;
      },
      { timeoutMs: 10_000, what: 'job completed' },
    );
    expect(job.attemptsMade).toBe(2);
    expect(job.progress).toBe(100);
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
    expect(await readdir(t!.config.workDir)).toEqual([]);
    await worker.close();
  });

  it('cancelTranscode stops a running transcode: TRANSCODE_CANCELLED, no retry, ffmpeg gone, work dir empty', async () => {
    const worker = await startApp({
      config: { ...t!.config, x264Preset: 'slower' },
      roles: ['worker'],
      logger: createLogger({ level: 'silent' }),
    });
    extra.push(worker);
    const id = await upload(t!, slowClip);
    const pid = await waitForFfmpeg(t!);
    expect(await t!.app.cancelTranscode(id)).toBe('signalled');
    const v = await waitForVideo(h!, id, (x) => x.status === 'failed', 'cancelled');
    expect(v.error_code).toBe('TRANSCODE_CANCELLED');
    expect((await ffmpegPids(t!.dataDir)).includes(pid)).toBe(false);
    const job = await waitFor(
      async () => {
        const j = await h!.queue.getJob(id);
        return (await j?.getState()) === 'failed' ? j : undefined;
      },
      { timeoutMs: 10_000, what: 'job failed, not retried' },
    );
    expect(job.attemptsMade).toBe(1);
    expect(await readdir(t!.config.workDir)).toEqual([]);
    expect(await t!.app.cancelTranscode(id)).toBe('finished');
    await worker.close();
  });

  it('cancelTranscode removes a job that has not started; an unknown id is not-found', async () => {
    const id = await upload(t!, slowClip); // no worker runs now: the job waits
    expect(await t!.app.cancelTranscode(id)).toBe('removed');
    expect(await h!.queue.getJob(id)).toBeUndefined();
    expect((await h!.videos.get(id))?.error_code).toBe('TRANSCODE_CANCELLED');
    expect(await t!.app.cancelTranscode('00000000-0000-4000-8000-000000000000')).toBe('not-found');
  });

  it('an ffmpeg that crashes on every attempt uses them up and the video ends failed with TRANSCODE_FFMPEG_FAILED', async () => {
    const t2 = await startTestApp({ env: { ...FAST_RECOVERY, TRANSCODE_ATTEMPTS: '2', X264_PRESET: 'slower', LOG_LEVEL: 'silent' } });
    extra.push(t2);
    const h2 = harness(t2);
    extra.push(h2);
    const id = await upload(t2, slowClip);
    const first = await waitForFfmpeg(t2);
    process.kill(first, 'SIGKILL');
    const second = await waitFor(async () => (await ffmpegPids(t2.dataDir)).find((p) => p !== first), {
      timeoutMs: 30_000,
      what: 'second attempt',
    });
    process.kill(second, 'SIGKILL');
    const v = await waitForVideo(h2, id, (x) => x.status === 'failed' || x.status === 'ready', 'failed');
    expect(v.status).toBe('failed');
    expect(v.error_code).toBe('TRANSCODE_FFMPEG_FAILED');
    expect((await h2.queue.getJob(id))?.attemptsMade).toBe(2);
  });

  it('a source corrupt half-way is rejected with TRANSCODE_SOURCE_CORRUPT after one attempt', async () => {
    const worker = await startApp({ config: t!.config, roles: ['worker'], logger: createLogger({ level: 'silent' }) });
    extra.push(worker);
    const bad = await makeClip({
      out: path.join(tmp, 'bad.mp4'),
      durationSec: 4,
      width: 320,
      height: 180,
      extraArgs: ['-movflags', '+faststart'],
    });
    await garbleMiddle(bad);
    const id = await upload(t!, bad);
    const v = await waitForVideo(h!, id, (x) => x.status === 'rejected' || x.status === 'failed' || x.status === 'ready', 'rejected');
    expect(v.status).toBe('rejected');
    expect(v.error_code).toBe('TRANSCODE_SOURCE_CORRUPT');
    // The row is written before the job is moved to failed: wait for BullMQ to catch up.
    const job = await waitFor(
      async () => {
        const j = await h!.queue.getJob(id);
        return (await j?.getState()) === 'failed' ? j : undefined;
      },
      { timeoutMs: 10_000, what: 'job failed' },
    );
    expect(job.attemptsMade).toBe(1);
    expect(await listFiles(path.join(t!.config.publishDir, 'hls', id))).toEqual([]);
    await worker.close();
  });
});
