import type { Queue } from 'bullmq';
import { QUEUE_NAMES, type TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { parseVideoMetadata } from '../ingest/upload-metadata.ts';
import { UPLOADER_KEY, type FinishedUpload } from '../ingest/tus.ts';

export { sanitizeFilename } from '../ingest/upload-metadata.ts';

export interface UploadFinisherOptions {
  readonly videos: VideoRepository;
  readonly queue: Queue<TranscodeJobData>;
}

/** Creates the video row (idempotent on the upload id) and queues its job (job id = video id: no duplicates). */
export function createUploadFinisher(o: UploadFinisherOptions): (u: FinishedUpload) => Promise<{ videoId: string }> {
  return async (u) => {
    // Validated at creation already; parsing again keeps this function safe on its own.
    const meta = parseVideoMetadata(u.metadata);
    const video = await o.videos.createFromUpload({
      uploadId: u.id,
      title: meta.title,
      description: meta.description,
      originalFilename: meta.filename,
      uploaderId: u.metadata[UPLOADER_KEY] ?? null,
      sourceKey: u.id,
      sourceSizeBytes: u.size,
    });
    await o.queue.add(QUEUE_NAMES.transcode, { videoId: video.id, sourcePath: u.path }, { jobId: video.id });
    return { videoId: video.id };
  };
}
