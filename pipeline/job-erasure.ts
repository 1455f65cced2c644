import { setTimeout as delay } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PipelineError } from '../core/errors.ts';
import type { TranscodeJobData } from '../core/types.ts';
import { cancelMarkerKey } from './queue.ts';

export interface JobStopOptions {
  /** How long a signalled job may take to stop (its ffmpeg is killed at once; cleanup follows); default 60 s. */
  readonly timeoutMs?: number;
  /** Poll interval; default 200 ms. */
  readonly intervalMs?: number;
}

/**
 * Resolves once the video's transcode job no longer runs (finished, failed after the cancel, removed, or never there);
 * API_ERASURE_BUSY when it still runs after the timeout, so the erasure stops before deleting anything and can be
 * sent again. A job that ran on while files were deleted could publish them again.
 */
export async function waitJobStopped(queue: Queue<TranscodeJobData>, videoId: string, o: JobStopOptions = {}): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    const job = await queue.getJob(videoId);
    const state = job ? await job.getState() : 'unknown';
    if (state !== 'active' && state !== 'waiting-children') return;
    if (Date.now() > deadline) {
      throw new PipelineError('API_ERASURE_BUSY', `The transcode of video ${videoId} is still running.`, { videoId, state });
    }
    await delay(o.intervalMs ?? 200);
  }
}

/**
 * Removes queued, finished or failed jobs of another queue by id (webhook deliveries of an erased user's events). A job
 * running right now is locked by its worker: it is waited for (a delivery is one HTTP request) and removed after.
 */
export async function removeJobs(queue: Queue, jobIds: readonly string[], o: JobStopOptions = {}): Promise<void> {
  for (const id of jobIds) {
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (let job = await queue.getJob(id); job; job = await queue.getJob(id)) {
      if ((await job.getState()) !== 'active') {
        await job.remove();
        break;
      }
      if (Date.now() > deadline) throw new PipelineError('API_ERASURE_BUSY', `Job ${id} is still running.`, { jobId: id });
      await delay(o.intervalMs ?? 200);
    }
  }
}

/**
 * Removes the video's finished job record (its data names the video and source) with its chunk children, and the
 * cancel marker. BullMQ would drop finished jobs after 7 or 30 days (removeOnComplete/removeOnFail); an erasure does
 * not wait for that.
 */
export async function forgetJobs(
  queue: Queue<TranscodeJobData>,
  r: { readonly redisUrl: string; readonly prefix: string },
  videoId: string,
): Promise<void> {
  const job = await queue.getJob(videoId);
  if (job) await job.remove({ removeChildren: true });
  const redis = new Redis(r.redisUrl);
  try {
    await redis.del(cancelMarkerKey(r.prefix, videoId));
  } finally {
    redis.disconnect();
  }
}
