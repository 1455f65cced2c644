import type { Queue, Worker } from 'bullmq';
import { describeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import type { TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';

export interface JobWatchOptions {
  readonly worker: Worker<TranscodeJobData>;
  /** The transcode queue, to read a stalled job's data and state (the event carries only its id). */
  readonly queue: Queue<TranscodeJobData>;
  readonly videos: VideoRepository;
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
}

/** States after which the job runs again. */
const WILL_RUN: ReadonlySet<string> = new Set(['waiting', 'active', 'delayed', 'prioritized', 'paused']);

/**
 * Makes the re-runs BullMQ decides on its own visible, and withdraws the preview of the attempt being replaced:
 * - `stalled`: a worker stopped renewing a job's lock (it died, or its event loop was blocked for JOB_LOCK_MS) and this
 *   worker's stalled check handed the job back. Logged with job and video id, counted in jobs_stalled_total.
 * - `failed` with attempts left: the retry is logged and counted (jobs_requeued_total{reason="retry"}).
 * Either way the dead attempt's EVENT preview stops being offered at once, instead of until the next attempt gets as
 * far as deleting it. The final failure is recorded elsewhere (pipeline/queue.ts).
 */
export function watchTranscodeJobs(o: JobWatchOptions): void {
  o.worker.on('stalled', (jobId: string) => {
    o.metrics?.jobsStalled.inc();
    onStalled(o, jobId).catch((err: unknown) => o.logger.error({ err: describeError(err), job: jobId }, 'could not handle a stalled job'));
  });
  o.worker.on('failed', (job) => {
    if (!job?.id) return;
    const { id } = job;
    (async () => {
      const state = await job.getState();
      if (!WILL_RUN.has(state)) return;
      o.metrics?.jobsRequeued.inc({ reason: 'retry' });
      o.logger.info({ job: id, videoId: job.data.videoId, attempt: job.attemptsMade, state }, 'transcode attempt failed; retry queued');
      if (state !== 'active') await withdrawPreview(o, job.data.videoId, 'failed');
    })().catch((err: unknown) => o.logger.error({ err: describeError(err), job: id }, 'could not handle a failed attempt'));
  });
}

async function onStalled(o: JobWatchOptions, jobId: string): Promise<void> {
  const job = await o.queue.getJob(jobId);
  const state = await o.queue.getJobState(jobId);
  const videoId = job?.data.videoId ?? jobId;
  o.logger.warn(
    { job: jobId, videoId, state, attemptsMade: job?.attemptsMade, stalledCounter: job?.stalledCounter },
    state === 'failed'
      ? 'transcode job stalled once too often (JOB_MAX_STALLED) and failed'
      : 'transcode job stalled: its worker stopped renewing the lock (died or blocked); re-queued',
  );
  if (!WILL_RUN.has(state)) return;
  o.metrics?.jobsRequeued.inc({ reason: 'stalled' });
  // A job some worker already took again clears the preview itself when its attempt starts.
  if (state !== 'active') await withdrawPreview(o, videoId, 'stalled');
}

async function withdrawPreview(o: JobWatchOptions, videoId: string, after: 'stalled' | 'failed'): Promise<void> {
  if (await o.videos.clearPreview(videoId)) o.logger.info({ videoId, after }, 'preview of the replaced attempt withdrawn');
}

export interface HeartbeatOptions {
  readonly videos: VideoRepository;
  readonly videoId: string;
  /** How often the row's heartbeat is written: half JOB_LOCK_MS, as BullMQ renews its lock. */
  readonly everyMs: number;
  readonly logger: Pick<Logger, 'warn'>;
}

/**
 * Runs one attempt while writing the video's heartbeat (migration 0013), so the reconciler knows a worker is on it
 * even when Redis has lost the job. A failed write is logged, not fatal: the heartbeat only holds the reconciler off.
 */
export async function withHeartbeat<T>(o: HeartbeatOptions, run: () => Promise<T>): Promise<T> {
  // Never awaited by the job, and one write at a time: a database that hangs must not hold the attempt up or pile up
  // writes; the attempt itself finds out about the database soon enough.
  let inFlight = false;
  const beat = (): void => {
    if (inFlight) return;
    inFlight = true;
    o.videos
      .heartbeat(o.videoId)
      .catch((err: unknown) => o.logger.warn({ err: describeError(err), videoId: o.videoId }, 'heartbeat write failed'))
      .finally(() => {
        inFlight = false;
      });
  };
  beat();
  const timer = setInterval(beat, o.everyMs);
  try {
    return await run();
  } finally {
    clearInterval(timer);
  }
}
