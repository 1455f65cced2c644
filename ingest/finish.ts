import type { Queue } from 'bullmq';
import { QUEUE_NAMES, type TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import type { FinishedUpload } from './tus.ts';

export interface UploadFinisherOptions {
  readonly videos: VideoRepository;
  readonly queue: Queue<TranscodeJobData>;
}

/** Strips control characters and path separators; a display name, never used as a path. */
export function sanitizeFilename(name: string | undefined): string | null {
  if (!name) return null;
  const clean = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim().slice(0, 255);
  return clean.length > 0 ? clean : null;
}

/** Creates the video row (idempotent on the upload id) and queues its transcode (job id = video id: no duplicates). */
export function createUploadFinisher(o: UploadFinisherOptions): (u: FinishedUpload) => Promise<{ videoId: string }> {
  return async (u) => {
    const filename = sanitizeFilename(u.metadata['filename']);
    const video = await o.videos.createFromUpload({
      uploadId: u.id,
      title: (u.metadata['title'] ?? filename ?? 'Untitled').slice(0, 200),
      description: (u.metadata['description'] ?? '').slice(0, 5000),
      originalFilename: filename,
      uploaderId: null,
      sourceKey: u.id,
      sourceSizeBytes: u.size,
    });
    await o.queue.add(QUEUE_NAMES.transcode, { videoId: video.id, sourcePath: u.path }, { jobId: video.id });
    return { videoId: video.id };
  };
}
