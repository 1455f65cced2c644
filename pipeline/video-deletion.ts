import type { Actor, VideoAdminRepository } from '../db/video-admin.ts';
import type { VideoRow } from '../db/videos.ts';
import type { ObjectStorage } from '../storage/types.ts';

/** Removes every archived copy of a video (the archive store is another stage's; it plugs in here). */
export interface VideoArchive {
  delete(videoId: string): Promise<void>;
}

/** What was removed from the data volume for one deleted video. */
export interface RemovedLocalFiles {
  /** Staged upload files (tus data and info, a restored master awaiting its job). */
  readonly uploads: number;
  /** Whether a master directory (`masters/<id>/`) existed and was removed. */
  readonly master: boolean;
  /** Job temp dirs (`work/<id>-*`) removed. */
  readonly workDirs: number;
}

/** Removes a deleted video's files on the data volume: staged upload, stripped master, job work dirs. */
export interface LocalVideoFiles {
  removeVideo(videoId: string, sourceKey: string | null): Promise<RemovedLocalFiles>;
}

/** Deletes a video's Cloudflare Stream copy (a missing one is not an error). */
export interface StreamCopies {
  delete(uid: string): Promise<void>;
}

export interface VideoDeletionDeps {
  readonly admin: VideoAdminRepository;
  /** Where the HLS package is published. */
  readonly storage: ObjectStorage;
  /** Local file cleanup; default: none (files are left for the orphan-master sweep and the ingest janitor). */
  readonly files?: LocalVideoFiles;
  /** Archive store; default none. */
  readonly archive?: VideoArchive;
  /** Cloudflare Stream; default none (a stream_uid then stays with Stream: the runbook says how to remove it). */
  readonly stream?: StreamCopies;
  /** Removes a still-queued transcode job, or signals a running one; default: none. */
  readonly cancelJob?: (videoId: string) => Promise<void>;
  /** Called once the row is gone (the API drops its playback access cache entry). */
  readonly onDeleted?: (videoId: string) => void;
}

export interface DeletedVideo {
  readonly hlsObjects: number;
  readonly archiveDeleted: boolean;
  readonly masterDeleted: boolean;
  readonly workDirsDeleted: number;
  readonly streamDeleted: boolean;
}

/**
 * Objects first, the row last: a failed cleanup leaves the row, so the same deletion can simply be retried. The
 * caller decides about the archive copy (an owner's DELETE keeps it unless asked; an erasure never does).
 */
export async function deleteVideoEverywhere(d: VideoDeletionDeps, v: VideoRow, actor: Actor, withArchive: boolean): Promise<DeletedVideo> {
  await d.cancelJob?.(v.id);
  const keys = await d.storage.list(`${v.hls_prefix ?? `hls/${v.id}`}/`);
  for (const key of keys) await d.storage.delete(key);
  // The full-quality master is the most sensitive copy there is: it must not outlive the video.
  const local = await d.files?.removeVideo(v.id, v.source_key);
  if (withArchive) await d.archive?.delete(v.id);
  const streamDeleted = Boolean(v.stream_uid && d.stream);
  if (v.stream_uid) await d.stream?.delete(v.stream_uid);
  await d.admin.delete(v.id, actor);
  d.onDeleted?.(v.id);
  return {
    hlsObjects: keys.length,
    archiveDeleted: withArchive && d.archive !== undefined,
    masterDeleted: local?.master ?? false,
    workDirsDeleted: local?.workDirs ?? 0,
    streamDeleted,
  };
}
