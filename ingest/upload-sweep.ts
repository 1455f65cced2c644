import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ERRORS, type Upload } from '@tus/utils';
import type { Logger } from '../core/logger.ts';
import type { VideoStatus } from '../core/types.ts';
import { isPartialId, type SafeFileStore } from './safe-file-store.ts';
import { isComplete } from './upload-finish.ts';
import { deleteTusUpload } from './video-files.ts';

/** What became of a finished upload's video: its status, or 'deleted' once the row is gone. */
export type UploadState = VideoStatus | 'deleted';

export interface UploadSweepOptions {
  readonly store: SafeFileStore;
  /** Records a complete upload as its video (UploadCompletion.completeStored). */
  readonly finish: (uploadId: string) => Promise<string | undefined>;
  /** The state of each listed upload that became a video (VideoRepository.uploadStates); others are absent. */
  readonly statesOf: (uploadIds: readonly string[]) => Promise<Map<string, UploadState>>;
  readonly logger: Pick<Logger, 'info' | 'error'>;
  /** Files changed more recently than this are left alone, in ms; default 60 000 (see sweepUploads). */
  readonly graceMs?: number;
  /** Clock in ms since epoch; default Date.now. */
  readonly now?: () => number;
  /**
   * Also finish complete uploads whose video is still `uploaded`; default false. With STORAGE_DRIVER=s3 the finish
   * puts the upload into the bucket and then removes it here, so one still here is one whose put failed.
   */
  readonly refinishUploaded?: boolean;
}

export interface UploadSweepResult {
  /** Complete uploads that had no video and now have one. */
  readonly finished: string[];
  /** Complete uploads removed because their video no longer needs them. */
  readonly removed: string[];
  /** Half-created uploads removed (a data file without its info, or info without data). */
  readonly leftovers: string[];
}

/**
 * Once a video has one of these, nothing reads its raw upload again: the master exists (ready), or the upload was bad
 * input or malware. `failed` is not among them: a retry of a video that failed before its master was written needs it.
 */
const DONE_WITH_UPLOAD: ReadonlySet<UploadState> = new Set<UploadState>(['ready', 'rejected', 'infected', 'deleted']);

/** Names @tus/file-store gives uploads here: 32 hex characters (partials prefixed); anything else is not ours. */
const TUS_ID = /^(partial-)?[0-9a-f]{32}$/;

async function mtimeMs(file: string): Promise<number | undefined> {
  return lstat(file).then(
    (s) => s.mtimeMs,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    },
  );
}

/** An upload's info, or what is wrong with it: no info (missing or unreadable), or no data file. */
async function load(store: SafeFileStore, id: string): Promise<Upload | 'no-info' | 'no-data'> {
  return store.getUpload(id).catch((err: unknown) => {
    if (err === ERRORS.FILE_NOT_FOUND) return 'no-info' as const;
    if (err === ERRORS.FILE_NO_LONGER_EXISTS) return 'no-data' as const;
    throw err;
  });
}

/**
 * Repairs the upload directory, so no upload is lost and none is kept forever:
 * - a complete upload that never became a video (a crash or PostgreSQL outage between its last byte and the row, a
 *   client that gave up on INGEST_FINISH_PENDING) is finished now, exactly as the final PATCH would have;
 * - a complete upload whose video is deleted, ready, rejected or infected is removed;
 * - half-created uploads (the disk filled up between data and info file) are removed.
 * Unfinished uploads are left to tus expiration. Anything changed within `graceMs` is skipped: a request may be
 * writing it (a checksummed chunk is on disk before it is verified). Safe to run from several API processes at once:
 * finishing is idempotent and removal is rm -f.
 */
export async function sweepUploads(o: UploadSweepOptions): Promise<UploadSweepResult> {
  const now = (o.now ?? Date.now)();
  const graceMs = o.graceMs ?? 60_000;
  const dir = o.store.directory;
  const ids = [...new Set((await readdir(dir)).map((n) => n.replace(/\.json$/, '')))].filter((n) => TUS_ID.test(n));
  const result: UploadSweepResult = { finished: [], removed: [], leftovers: [] };
  const complete: string[] = [];
  for (const id of ids) {
    const file = path.join(dir, id);
    const times = [await mtimeMs(file), await mtimeMs(`${file}.json`)].filter((t) => t !== undefined);
    if (times.some((t) => now - t < graceMs)) continue;
    const upload = await load(o.store, id);
    if (upload === 'no-info' || upload === 'no-data') {
      await deleteTusUpload(file);
      result.leftovers.push(id);
    } else if (isComplete(upload) && !isPartialId(id)) {
      complete.push(id);
    }
  }
  const states = complete.length ? await o.statesOf(complete) : new Map<string, UploadState>();
  for (const id of complete) {
    const state = states.get(id);
    if (state === undefined || (state === 'uploaded' && o.refinishUploaded)) {
      const videoId = await o.finish(id).catch((err: unknown) => {
        o.logger.error({ err, uploadId: id }, 'stranded upload not finished; the next sweep retries');
      });
      if (videoId) {
        o.logger.info({ uploadId: id, videoId }, 'stranded upload finished');
        result.finished.push(id);
      }
    } else if (DONE_WITH_UPLOAD.has(state)) {
      await deleteTusUpload(path.join(dir, id));
      o.logger.info({ uploadId: id, state }, 'orphaned upload removed');
      result.removed.push(id);
    }
  }
  if (result.leftovers.length) o.logger.info({ uploadIds: result.leftovers }, 'half-created uploads removed');
  return result;
}
