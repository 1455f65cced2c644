import type { Logger } from '../core/logger.ts';
import type { VideoStatus } from '../core/types.ts';
import type { VideoFiles } from './video-files.ts';

export interface MasterSweepOptions {
  readonly files: VideoFiles;
  /** Processing status of each listed video that still has a row (VideoRepository.statusesOf). */
  readonly statusesOf: (ids: readonly string[]) => Promise<Map<string, VideoStatus>>;
  /** Removes a deleted video's published HLS, returning the object count (ops wires it to the storage); default none. */
  readonly removePublished?: (videoId: string) => Promise<number>;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /**
   * Sources kept in object storage (STORAGE_DRIVER=s3: `incoming/` and `masters/` of the bucket), swept by the same
   * rule as the local files; default none.
   */
  readonly bucket?: {
    videoIds(): Promise<string[]>;
    /** Deletes the video's upload and master objects; returns how many there were. */
    removeVideo(videoId: string): Promise<number>;
  };
  /** Ids looked up per query; default 500. */
  readonly batch?: number;
}

export interface MasterSweepResult {
  /** Videos whose local files were removed. */
  readonly removed: string[];
  /** Videos whose master is still needed. */
  readonly kept: number;
}

/** Names in the bucket that are not video ids are not ours to judge, as on disk. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Processing verdicts after which nothing reads the master again: the upload was bad input or malware. A moderator's
 * rejection is not among them: it can be reversed, and a re-transcode then needs the master (the owner can delete).
 */
const TERMINAL: ReadonlySet<VideoStatus> = new Set<VideoStatus>(['rejected', 'infected']);

/**
 * Removes local files that no video needs any more: master dirs (and job work dirs) of videos whose row is gone, or
 * whose processing ended in a terminal verdict. Finds what a deletion missed, such as a master a cancelled job wrote
 * after the DELETE had already cleaned up. The row is always created before a job writes anything, so a live video's
 * files are never mistaken for orphans. Safe to run from several workers at once (every step is rm -f).
 */
export async function sweepOrphanMasters(o: MasterSweepOptions): Promise<MasterSweepResult> {
  const bucketIds = o.bucket ? await o.bucket.videoIds() : [];
  const ids = [...new Set([...(await o.files.masterVideoIds()), ...(await o.files.workVideoIds()), ...bucketIds])].filter((id) =>
    UUID.test(id),
  );
  const removed: string[] = [];
  let kept = 0;
  const batch = o.batch ?? 500;
  for (let i = 0; i < ids.length; i += batch) {
    const chunk = ids.slice(i, i + batch);
    const statuses = await o.statusesOf(chunk);
    for (const id of chunk) {
      const status = statuses.get(id);
      if (status !== undefined && !TERMINAL.has(status)) {
        kept++;
        continue;
      }
      // A deleted video's job may have published after the DELETE listed its objects; a terminal one is left as is.
      const hlsObjects = status === undefined && o.removePublished ? await o.removePublished(id) : 0;
      const objects = o.bucket ? await o.bucket.removeVideo(id) : 0;
      const workDirs = await o.files.removeWorkDirs(id);
      // The master goes last: it is what the next sweep finds the id by, so a sweep stopped half-way is finished later.
      const master = await o.files.removeMaster(id);
      o.logger.info({ videoId: id, status: status ?? 'deleted', master, workDirs, objects, hlsObjects }, 'orphaned video files removed');
      removed.push(id);
    }
  }
  return { removed, kept };
}
