import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PipelineError } from '../core/errors.ts';
import { QUEUE_NAMES, type TranscodeJobData, type TranscodeSource } from '../core/types.ts';
import type { Actor, VideoAdminRepository } from '../db/video-admin.ts';
import type { VideoRepository, VideoRow } from '../db/videos.ts';
import { restoredUploadName } from '../ingest/video-files.ts';
import { cancelMarkerKey } from './queue.ts';
import type { VideoSources } from './sources.ts';

export interface RetryDeps {
  readonly videos: VideoRepository;
  readonly admin: VideoAdminRepository;
  readonly queue: Queue<TranscodeJobData>;
  readonly redisUrl: string;
  /** QUEUE_PREFIX (the cancel marker lives under it). */
  readonly prefix: string;
  /** tus staging dir (raw uploads, restored masters). */
  readonly uploadDir: string;
  /** Stripped masters, `<videoId>/master.<ext>`. */
  readonly mastersDir: string;
  /** With the bucket (STORAGE_DRIVER=s3) the upload and master are looked for there; default the data volume. */
  readonly sources?: VideoSources;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * The file a new job can start from, as the job's sourcePath: the stripped master (prepareMaster reuses it and skips
 * the scan, which it already passed), else a master restored from the archive, else the raw upload (scanned again).
 * None left → API_RETRY_SOURCE_MISSING.
 */
async function retrySource(v: VideoRow, d: RetryDeps): Promise<TranscodeSource> {
  if (d.sources?.kind === 'bucket') {
    const source = await d.sources.requeueSource(v);
    if (source) return source;
    throw new PipelineError('API_RETRY_SOURCE_MISSING', `Video ${v.id} has neither a master nor an upload left in the bucket.`, {
      id: v.id,
    });
  }
  return { sourcePath: await retryPath(v, d) };
}

async function retryPath(v: VideoRow, d: RetryDeps): Promise<string> {
  const uploadDir = path.resolve(d.uploadDir);
  const restored = path.join(uploadDir, restoredUploadName(v.id));
  // source_key comes from the database; a path outside the upload dir is never handed to a job, whatever it says.
  const raw = v.source_key ? path.resolve(uploadDir, v.source_key) : undefined;
  const rawPath = raw && path.dirname(raw) === uploadDir ? raw : undefined;
  const candidates = [restored, rawPath].filter((p): p is string => p !== undefined);
  for (const p of candidates) if (await exists(p)) return p;
  const master = v.stripped_master_key ? path.join(d.mastersDir, v.stripped_master_key) : undefined;
  if (master && (await exists(master))) return rawPath ?? restored;
  throw new PipelineError('API_RETRY_SOURCE_MISSING', `Video ${v.id} has neither a master nor an upload left on the data volume.`, {
    id: v.id,
  });
}

/**
 * Retries a `failed` video: removes its finished job (the job id is the video id, and BullMQ ignores an add while a
 * job of that id is kept), drops a stale cancel marker (it would stop the new job at once), resets the row with an
 * audit row, and queues a new job. `rejected` and `infected` are verdicts on the file and are refused, like every
 * other status (API_RETRY_NOT_FAILED). Should the queue be down after the row was reset, the row is `uploaded`
 * without a job, which the reconciler re-queues.
 */
export async function retryVideo(d: RetryDeps, videoId: string, actor: Actor, notes: string | null): Promise<VideoRow> {
  const v = await d.videos.get(videoId);
  if (!v) throw new PipelineError('API_NOT_FOUND', `No video ${videoId}.`, { id: videoId });
  if (v.status !== 'failed') throw new PipelineError('API_RETRY_NOT_FAILED', `Video is ${v.status}.`, { status: v.status });
  const source = await retrySource(v, d);
  const old = await d.queue.getJob(videoId);
  if (old) {
    const state = await old.getState();
    if (state === 'completed' || state === 'failed') await old.remove();
  }
  const redis = new Redis(d.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await redis.del(cancelMarkerKey(d.prefix, videoId));
  } finally {
    redis.disconnect();
  }
  const res = await d.admin.resetForRetry(videoId, actor, notes);
  if (!res) throw new PipelineError('API_NOT_FOUND', `No video ${videoId}.`, { id: videoId });
  if (res.notFailed) throw new PipelineError('API_RETRY_NOT_FAILED', `Video is ${res.video.status}.`, { status: res.video.status });
  await d.queue.add(QUEUE_NAMES.transcode, { videoId, ...source }, { jobId: videoId });
  return res.video;
}
