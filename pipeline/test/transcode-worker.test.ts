import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue, type Job } from 'bullmq';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { QUEUE_NAMES, type TranscodeJobData } from '../../core/types.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { VideoRepository, type VideoRow } from '../../db/videos.ts';
import { garbleMiddle } from '../../test/helpers/media-check.ts';
import { listFiles, startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { logLines } from '../../test/helpers/log-lines.ts';
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

/** A process's niceness, field 19 of /proc/<pid>/stat (counted after the parenthesised command name). */
async function niceOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

async function waitForFfmpeg(t: TestApp): Promise<number> {
  return waitFor(async () => (await ffmpegPids(t.dataDir))[0], { timeoutMs: 60_000, intervalMs: 100, what: 'ffmpeg running' });
}

async function waitForFfmpegGone(t: TestApp, pid: number): Promise<void> {
  await waitFor(async () => ((await ffmpegPids(t.dataDir)).includes(pid) ? undefined : true), { timeoutMs: 10_000, what: 'ffmpeg gone' });
}

/** A worker role in this process, closed when the test ends even if it failed (a live worker would take the next test's jobs). */
async function startWorker(t: TestApp, preset: string, logStream?: ReturnType<typeof logLines>['stream']): Promise<RunningApp> {
  const logger = createLogger({ level: logStream ? 'info' : 'silent', destination: logStream });
  const worker = await startApp({ config: { ...t.config, x264Preset: preset }, roles: ['worker'], logger });
  onTestFinished(() => worker.close());
  return worker;
}

/** The job in BullMQ's `state`: the row is written before BullMQ moves the job, so tests wait for it. */
function waitForJob(h: Harness, id: string, state: 'completed' | 'failed'): Promise<Job<TranscodeJobData>> {
  return waitFor(
    async () => {
      const j = await h.queue.getJob(id);
      return (await j?.getState()) === state ? j : undefined;
    },
    { timeoutMs: 10_000, what: `job ${state}` },
  );
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

  it('a worker process SIGKILLed mid-transcode: its (niced) ffmpeg dies, another worker finishes the job, nothing stale is left', async () => {
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
      FFMPEG_NICE: '7',
      ...FAST_RECOVERY,
    };
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'ops/main.ts', '--role', 'worker'], {
      cwd: REPO,
      env,
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    onTestFinished(() => void child.kill('SIGKILL'));
    const id = await upload(t, slowClip);
    await waitForVideo(h, id, (v) => v.stage === 'transcode', 'transcode stage');
    const pid = await waitForFfmpeg(t);
    // FFMPEG_NICE reaches the ladder's ffmpeg through the worker's pool: it yields the cores to the API, clamd, the strip.
    expect(await niceOf(pid)).toBe(7);
    child.kill('SIGKILL');
    await exited;
    // setpriv --pdeathsig: the kernel kills ffmpeg with its worker, no orphan keeps encoding.
    await waitForFfmpegGone(t, pid);
    const prefixDir = path.join(t.config.publishDir, 'hls', id);
    expect(await listFiles(prefixDir)).toEqual([]); // nothing was published by the dead attempt
    // As if the dead attempt had got half-way through publishing: the retry must not leave this behind, and the API
    // must stop offering its preview before the retry publishes again.
    await mkdir(path.join(prefixDir, 'v9'), { recursive: true });
    await writeFile(path.join(prefixDir, 'v9', 'seg_00007.m4s'), 'stale');
    await h.videos.markPreviewable(id, { hlsPrefix: `hls/${id}`, masterKey: `hls/${id}/master.m3u8` });
    const epoch = (await h.videos.accessState(id))!.access_epoch;

    const log = logLines();
    const worker = await startWorker(t, 'ultrafast', log.stream);
    const v = await waitForVideo(h, id, (x) => x.status !== 'processing' && x.status !== 'uploaded', 'ready after stalled recovery');
    expect(v.status).toBe('ready');
    // The stall is logged and counted by the worker that found it; the stale preview's URLs were revoked.
    expect(log.find(/^transcode job stalled/)).toContainEqual(expect.objectContaining({ job: id, videoId: id }));
    expect((await worker.metrics.jobsStalled.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
    expect(v.access_epoch).toBeGreaterThan(epoch);
    const published = (await listFiles(prefixDir)).map((f) => path.relative(prefixDir, f));
    expect(published).not.toContain('v9/seg_00007.m4s');
    expect(published).toContain('master.m3u8');
    expect(published.filter((f) => f.endsWith('index.m3u8')).sort()).toEqual(['audio/index.m3u8', 'v0/index.m3u8', 'v1/index.m3u8']);
    await waitForJob(h, id, 'completed');
    expect(await readdir(t.config.workDir)).toEqual([]);
  });

  it('an ffmpeg killed mid-run fails the attempt; the retry completes and progress reached the job and the row', async () => {
    const log = logLines();
    const worker = await startWorker(t!, 'medium', log.stream);
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
    const job = await waitForJob(h!, id, 'completed');
    expect(job.attemptsMade).toBe(2);
    expect(job.progress).toBe(100);
    expect(seen.some((p) => p > 0 && p < 100)).toBe(true);
    expect(await readdir(t!.config.workDir)).toEqual([]);
    expect(log.find('transcode attempt failed; retry queued')).toContainEqual(expect.objectContaining({ job: id, attempt: 1 }));
    expect((await worker.metrics.jobsRequeued.get()).values).toContainEqual(
      expect.objectContaining({ labels: { reason: 'retry' }, value: 1 }),
    );
  });

  it('cancelTranscode stops a running transcode: TRANSCODE_CANCELLED, no retry, ffmpeg gone, work dir empty', async () => {
    await startWorker(t!, 'slower');
    const id = await upload(t!, slowClip);
    const pid = await waitForFfmpeg(t!);
    expect(await t!.app.cancelTranscode(id)).toBe('signalled');
    const v = await waitForVideo(h!, id, (x) => x.status === 'failed', 'cancelled');
    expect(v.error_code).toBe('TRANSCODE_CANCELLED');
    await waitForFfmpegGone(t!, pid);
    const job = await waitForJob(h!, id, 'failed');
    expect(job.attemptsMade).toBe(1); // not retried
    expect(await readdir(t!.config.workDir)).toEqual([]);
    expect(await t!.app.cancelTranscode(id)).toBe('finished');
  });

  it('cancelTranscode removes a job that has not started; an unknown id is not-found', async () => {
    // The job must wait: no worker of this deployment may still be connected (the earlier tests' workers are closed).
    await waitFor(async () => ((await h!.queue.getWorkers()).length === 0 ? true : undefined), { timeoutMs: 10_000, what: 'no worker' });
    const id = await upload(t!, slowClip);
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
    // What the last attempt published before it died goes with it.
    expect(await listFiles(path.join(t2.config.publishDir, 'hls', id))).toEqual([]);
  });

  it('a source corrupt half-way is rejected with TRANSCODE_SOURCE_CORRUPT after one attempt', async () => {
    await startWorker(t!, t!.config.x264Preset);
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
    expect((await waitForJob(h!, id, 'failed')).attemptsMade).toBe(1);
    expect(await listFiles(path.join(t!.config.publishDir, 'hls', id))).toEqual([]);
  });
});
