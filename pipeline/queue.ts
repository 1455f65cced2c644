import { Queue, WaitingChildrenError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import { QUEUE_NAMES, type TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { classifyOutage, delayForDependency, type DependencyBackoff } from './outage.ts';
import type { RedisConnectionOptions } from './redis.ts';

/** Queue and worker tuning, from AppConfig. */
export interface TranscodeQueueOptions {
  readonly connection: RedisConnectionOptions;
  readonly prefix: string;
  /** Attempts per job before it is marked failed (UnrecoverableError skips the rest). */
  readonly attempts: number;
  /** First retry delay in ms; doubles per attempt. */
  readonly backoffMs: number;
}

export function createTranscodeQueue(o: TranscodeQueueOptions): Queue<TranscodeJobData> {
  return new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
    connection: o.connection,
    prefix: o.prefix,
    defaultJobOptions: {
      attempts: o.attempts,
      backoff: { type: 'exponential', delay: o.backoffMs },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  });
}

/** Pub/sub channel that carries cancel requests to whichever worker process holds the job. */
export const cancelChannel = (prefix: string): string => `${prefix}:transcode:cancel`;
/** Marker read at job start, so a cancel also stops a job that a stalled-job check hands to another worker later. */
export const cancelMarkerKey = (prefix: string, videoId: string): string => `${prefix}:transcode:cancelled:${videoId}`;
const CANCEL_MARKER_TTL_SEC = 7 * 24 * 3600;

export interface TranscodeWorkerOptions extends TranscodeQueueOptions {
  readonly redisUrl: string;
  /** Jobs this process runs at once. */
  readonly concurrency: number;
  /** BullMQ lockDuration: a job whose lock is not renewed for this long is "stalled"; renewed every half of it. */
  readonly lockDurationMs: number;
  /** How often this worker looks for stalled jobs (those of dead workers) and puts them back in the queue. */
  readonly stalledIntervalMs: number;
  /** Stalls a job survives before it fails (a source that crashes every worker must not loop forever). */
  readonly maxStalledCount: number;
  readonly videos: VideoRepository;
  readonly logger: Logger;
  /** Failed-transcode durations and dependency waits; default none. */
  readonly metrics?: PipelineMetrics;
  /** Delays of a job that waits for an unavailable dependency (no attempt spent). */
  readonly dependencyBackoff: DependencyBackoff;
  /** The job body; `signal` aborts on cancelTranscode; `token` is the job's lock (a chunked job waits for children with it). */
  readonly process: (
    job: Job<TranscodeJobData>,
    signal: AbortSignal,
    cancelled: () => Promise<boolean>,
    token: string | undefined,
  ) => Promise<unknown>;
}

export interface TranscodeWorker {
  readonly worker: Worker<TranscodeJobData>;
  close(): Promise<void>;
}

/**
 * Marks the video failed once its job is finally failed: attempts used up, or stalled more often than maxStalledCount
 * (a source that kills every worker). The job's state says which, so retries in between leave the row alone. Input
 * errors and cancels were already recorded by the pipeline with their own code. The video.failed webhook event is
 * written by markFailed in the same transaction as the status.
 */
function recordFinalFailure(o: TranscodeWorkerOptions, job: Job<TranscodeJobData> | undefined, err: Error): void {
  o.logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, 'transcode job failed');
  if (!job) return;
  if (job.processedOn && job.finishedOn)
    o.metrics?.transcodeSeconds.observe({ outcome: 'failed' }, (job.finishedOn - job.processedOn) / 1000);
  const raw = (err as { code?: unknown }).code;
  // The pipeline throws UnrecoverableError(<code>) for verdicts it already recorded (rejected, infected, cancelled).
  const code = typeof raw === 'string' ? raw : err.name === 'UnrecoverableError' ? err.message : 'TRANSCODE_FFMPEG_FAILED';
  (async () => {
    if ((await job.getState()) !== 'failed') return;
    const videoId = job.data.videoId;
    const v = await o.videos.get(videoId);
    const recorded = v?.status === 'rejected' || v?.status === 'infected' || v?.status === 'failed';
    if (v && !recorded) await o.videos.markFailed(videoId, 'failed', code, err.message);
  })().catch((e: unknown) => o.logger.error({ err: describeError(e) }, 'could not record failure'));
}

/**
 * A BullMQ worker for transcodes plus its cancel subscription. Every worker process, on this host or another, runs
 * the same thing against the same Redis: jobs are claimed atomically, and a dead worker's job is re-queued by the
 * stalled-job check of any live one after lockDurationMs.
 */
export async function startTranscodeWorker(o: TranscodeWorkerOptions): Promise<TranscodeWorker> {
  const commands = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  for (const c of [commands, subscriber])
    c.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'cancel channel connection error'));
  const cancelled = (videoId: string) => async (): Promise<boolean> => (await commands.exists(cancelMarkerKey(o.prefix, videoId))) === 1;
  const worker = new Worker<TranscodeJobData>(
    QUEUE_NAMES.transcode,
    async (job, token, signal) => {
      try {
        return await o.process(job, signal ?? new AbortController().signal, cancelled(job.data.videoId), token);
      } catch (err) {
        // Not a failure: the job waits for its chunk jobs and runs again when they are done.
        if (err instanceof WaitingChildrenError) throw err;
        const dependency = token ? await classifyOutage(err, { probeDatabase: () => o.videos.ping() }) : undefined;
        if (!dependency || !token) throw err;
        return delayForDependency(job, token, dependency, err, {
          videos: o.videos,
          backoff: o.dependencyBackoff,
          logger: o.logger.child({ job: job.id }),
          metrics: o.metrics,
        });
      }
    },
    {
      connection: o.connection,
      prefix: o.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: o.maxStalledCount,
    },
  );
  worker.on('failed', (job, err) => recordFinalFailure(o, job, err));
  worker.on('error', (err) => o.logger.error({ err: err.message }, 'worker error'));
  subscriber.on('message', (_channel: string, videoId: string) => {
    if (worker.cancelJob(videoId, 'cancelled')) o.logger.info({ videoId }, 'transcode cancel delivered');
  });
  await subscriber.subscribe(cancelChannel(o.prefix));
  let closing: Promise<void> | undefined;
  return {
    worker,
    close: () => {
      closing ??= (async () => {
        for (const step of [() => worker.close(), () => subscriber.quit(), () => commands.quit()]) {
          await step().catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'transcode worker cleanup failed'));
        }
      })();
      return closing;
    },
  };
}

export type CancelOutcome = 'removed' | 'signalled' | 'finished' | 'not-found';

export interface CancelDeps {
  readonly queue: Queue<TranscodeJobData>;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly videos: VideoRepository;
}

/**
 * Cancels a video's transcode wherever it is: a waiting/delayed job is removed; an active one is told through
 * pub/sub (its worker aborts ffmpeg: SIGTERM, then SIGKILL) and marked, so a retry or stalled restart stops too.
 * The video ends `failed` with TRANSCODE_CANCELLED.
 */
export async function cancelTranscode(d: CancelDeps, videoId: string): Promise<CancelOutcome> {
  const job = await d.queue.getJob(videoId);
  if (!job) return 'not-found';
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') return 'finished';
  const redis = new Redis(d.redisUrl);
  try {
    await redis.set(cancelMarkerKey(d.prefix, videoId), '1', 'EX', CANCEL_MARKER_TTL_SEC);
    if (state !== 'active') {
      // remove() refuses a job that just became active (it is locked): then it is signalled like any active job.
      const removed = await job.remove().then(
        () => true,
        () => false,
      );
      if (removed) {
        await d.videos.markFailed(videoId, 'failed', 'TRANSCODE_CANCELLED', 'Cancelled before the transcode started.');
        return 'removed';
      }
    }
    await redis.publish(cancelChannel(d.prefix), videoId);
    return 'signalled';
  } finally {
    redis.disconnect();
  }
}
