import { describeError, PipelineError } from '../core/errors.ts';
import { keyOfBucketRef } from './sources.ts';
import type { Logger } from '../core/logger.ts';
import type { ArchiveRecords } from '../db/archive-records.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { releaseStagingCopy } from '../storage/archive/archive.ts';

export interface StagingCleanupOptions {
  readonly records: ArchiveRecords;
  /** The archive bucket, re-checked before each deletion. */
  readonly archive: ObjectStorage;
  /** Staging copies of archived masters older than this are deleted; default 30. */
  readonly retentionDays?: number;
  /** Clock in ms since the epoch; default Date.now. */
  readonly now?: () => number;
  readonly logger: Logger;
  /** The bucket that holds masters with STORAGE_DRIVER=s3 (staging paths `bucket:masters/…`); default none. */
  readonly sourcesBucket?: ObjectStorage;
  /** Rows per sweep; default 100. */
  readonly batch?: number;
}

export interface StagingCleanupResult {
  readonly deleted: string[];
  /** Videos whose archive copy no longer verified: their staging copy is kept and the error logged. */
  readonly kept: string[];
}

/** A staging copy in the bucket is deleted there; a local one by its path (the default). */
function removerOf(stagingPath: string, bucket: ObjectStorage | undefined): (() => Promise<void>) | undefined {
  const key = keyOfBucketRef(stagingPath);
  if (key === undefined) return undefined;
  if (!bucket) throw new PipelineError('STORAGE_NOT_FOUND', `Staging copy ${stagingPath} is in a bucket this process has not opened.`);
  return () => bucket.delete(key);
}

/**
 * Deletes local staging copies of masters that were archived more than `retentionDays` ago. Only rows with a verified
 * archive (archived_at set) are candidates, and each archive copy is read back again right before the delete.
 */
export async function cleanStagingCopies(o: StagingCleanupOptions): Promise<StagingCleanupResult> {
  const cutoff = new Date((o.now ?? Date.now)() - (o.retentionDays ?? 30) * 24 * 3600 * 1000);
  const rows = await o.records.dueForStagingCleanup(cutoff, o.batch ?? 100);
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const r of rows) {
    if (!r.archive_key || !r.master_sha256 || r.master_size_bytes === null || !r.staging_path) continue;
    try {
      await releaseStagingCopy({
        storage: o.archive,
        key: r.archive_key,
        sha256: r.master_sha256,
        size: r.master_size_bytes,
        localPath: r.staging_path,
        remove: removerOf(r.staging_path, o.sourcesBucket),
      });
      await o.records.markStagingDeleted(r.id);
      deleted.push(r.id);
    } catch (err) {
      o.logger.error({ videoId: r.id, err: describeError(err) }, 'staging copy kept: archive did not verify');
      kept.push(r.id);
    }
  }
  return { deleted, kept };
}
