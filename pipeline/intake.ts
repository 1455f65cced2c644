import type { Queue } from 'bullmq';
import type { Logger } from '../core/logger.ts';
import { QUEUE_NAMES, type TranscodeJobData, type TranscodeSource } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { parseVideoMetadata } from '../ingest/upload-metadata.ts';
import { UPLOADER_KEY, VIDEO_ID_KEY, type FinishedUpload } from '../ingest/tus.ts';
import { deleteTusUpload } from '../ingest/video-files.ts';

export { sanitizeFilename } from '../ingest/upload-metadata.ts';

export interface UploadFinisherOptions {
  readonly videos: VideoRepository;
  readonly queue: Queue<TranscodeJobData>;
  readonly logger: Pick<Logger, 'warn'>;
  /**
   * How long the finish waits for Redis to take the job, in ms; default 5000. BullMQ holds commands while Redis is
   * away, and the upload must not hang on it: the row is what counts (see below).
   */
  readonly queueTimeoutMs?: number;
  /**
   * Puts a finished upload where workers on other hosts can fetch it and returns the job's source (BucketSources
   * .stageUpload with STORAGE_DRIVER=s3); default none: the job names the upload's path on the shared data volume.
   */
  readonly stageUpload?: (videoId: string, uploadPath: string) => Promise<TranscodeSource>;
}

/**
 * Creates the video row (idempotent on the upload id) and queues its job (job id = video id: no duplicates). The row
 * is the durable record: once it exists the upload is finished, even if Redis is down and the job cannot be added
 * now. The reconciler re-adds the job of every `uploaded` row that has none, so a lost add only delays the video.
 * A repeated finish (HEAD, repeated final PATCH, the upload sweep) adds the job again only while the row is still
 * `uploaded`: a job removed after it completed must not start a second transcode.
 */
export function createUploadFinisher(o: UploadFinisherOptions): (u: FinishedUpload) => Promise<{ videoId: string; created: boolean }> {
  const timeoutMs = o.queueTimeoutMs ?? 5000;
  return async (u) => {
    // Validated at creation already; parsing again keeps this function safe on its own.
    const meta = parseVideoMetadata(u.metadata);
    const video = await o.videos.createFromUpload({
      // Reserved at creation and sent back then as Video-Id; uploads created before ids were reserved have none.
      id: u.metadata[VIDEO_ID_KEY] ?? null,
      uploadId: u.id,
      title: meta.title,
      description: meta.description,
      originalFilename: meta.filename,
      uploaderId: u.metadata[UPLOADER_KEY] ?? null,
      sourceKey: u.id,
      sourceSizeBytes: u.size,
      passthrough: meta.passthrough,
    });
    if (video.status === 'uploaded') {
      // Staged before the client hears "complete": a failed put fails the finish (INGEST_FINISH_PENDING), the client
      // or the upload sweep finishes it again, and the local copy stays until the bucket has it.
      const source: TranscodeSource = o.stageUpload ? await o.stageUpload(video.id, u.path) : { sourcePath: u.path };
      const adding = o.queue.add(QUEUE_NAMES.transcode, { videoId: video.id, ...source }, { jobId: video.id });
      await withTimeout(adding, timeoutMs).catch((err: unknown) => {
        o.logger.warn({ err, videoId: video.id }, 'video recorded but its job was not queued; the reconciler queues it');
      });
    }
    // The bucket holds the upload now (or the video is past it): the API host keeps no raw upload around.
    if (o.stageUpload) await deleteTusUpload(u.path);
    return { videoId: video.id, created: video.inserted };
  };
}

/** Rejects after `ms`; `p` may still settle later (a late add is harmless: the job id is the video id). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue did not answer within ${ms} ms`)), ms);
  });
  // A rejection after the timeout has nobody waiting for it; it is the same failure already logged.
  p.catch(() => undefined);
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
