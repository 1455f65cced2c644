import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { cancelChannel } from './queue.ts';

/** The chunk jobs this process runs, by video: a cancel names the video, BullMQ cancels by job id. */
export class RunningParts {
  private readonly byVideo = new Map<string, Set<string>>();

  async track<T>(videoId: string, jobId: string, run: () => Promise<T>): Promise<T> {
    const ids = this.byVideo.get(videoId) ?? new Set<string>();
    this.byVideo.set(videoId, ids.add(jobId));
    try {
      return await run();
    } finally {
      ids.delete(jobId);
      if (ids.size === 0) this.byVideo.delete(videoId);
    }
  }

  of(videoId: string): string[] {
    return [...(this.byVideo.get(videoId) ?? [])];
  }
}

export interface ChunkCancelOptions {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly logger: Logger;
  readonly running: RunningParts;
  /** BullMQ Worker.cancelJob: aborts the job's signal, which stops its ffmpeg. */
  readonly cancelJob: (jobId: string, reason: string) => boolean;
}

/**
 * Delivers transcode cancels (a deleted or erased video) to the chunk jobs of this process as they run, like the
 * transcode worker does for whole-video jobs: a long video's chunks would otherwise encode on for minutes and publish
 * into a package that is being deleted. Returns an idempotent close.
 */
export async function subscribeChunkCancels(o: ChunkCancelOptions): Promise<{ close(): Promise<void> }> {
  const subscriber = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  subscriber.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'chunk cancel channel connection error'));
  subscriber.on('message', (_channel: string, videoId: string) => {
    for (const id of o.running.of(videoId)) if (o.cancelJob(id, 'cancelled')) o.logger.info({ videoId, job: id }, 'chunk cancel delivered');
  });
  await subscriber.subscribe(cancelChannel(o.prefix));
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        subscriber.disconnect();
      })()),
  };
}
