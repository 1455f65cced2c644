import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PipelineError } from '../core/errors.ts';
import { HashingStream } from '../core/hashing.ts';
import { restoredUploadName } from '../ingest/video-files.ts';
import type { ArchiveRecords } from '../db/archive-records.ts';
import type { ObjectStorage } from '../storage/types.ts';

export interface RestoreMasterOptions {
  readonly records: ArchiveRecords;
  readonly archive: ObjectStorage;
  readonly videoId: string;
  /** Directory that receives the restored master (the upload/staging dir). */
  readonly destDir: string;
  /** Queues the transcode of the restored file; returns the job id. BullMQ stays in ops/. */
  readonly enqueue: (job: { videoId: string; sourcePath: string }) => Promise<string>;
}

export interface RestoreResult {
  readonly sourcePath: string;
  readonly jobId: string;
  readonly sha256: string;
}

/**
 * Re-fetches an archived master, checks its sha256 against Postgres while it streams to disk (temp file, renamed only
 * when it matched), marks it as the new staging copy and re-queues its transcode.
 */
export async function restoreMaster(o: RestoreMasterOptions): Promise<RestoreResult> {
  const row = await o.records.get(o.videoId);
  if (!row?.archive_key || !row.archived_at || !row.master_sha256) {
    throw new PipelineError('STORAGE_NOT_ARCHIVED', `Video ${o.videoId} has no verified archive copy.`, { videoId: o.videoId });
  }
  await mkdir(o.destDir, { recursive: true });
  const dest = path.join(o.destDir, restoredUploadName(o.videoId));
  const tmp = `${dest}.part`;
  const hasher = new HashingStream();
  try {
    await pipeline(await o.archive.get(row.archive_key), hasher, createWriteStream(tmp));
    const got = hasher.digest();
    if (got !== row.master_sha256) {
      throw new PipelineError('STORAGE_CHECKSUM_MISMATCH', `Archived ${row.archive_key} does not match its recorded sha256.`, {
        key: row.archive_key,
        got,
        want: row.master_sha256,
      });
    }
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await o.records.markRestored(o.videoId, dest);
  const jobId = await o.enqueue({ videoId: o.videoId, sourcePath: dest });
  return { sourcePath: dest, jobId, sha256: row.master_sha256 };
}
