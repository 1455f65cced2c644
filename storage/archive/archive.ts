import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { isPipelineError, PipelineError } from '../../core/errors.ts';
import { HashingStream, sha256Of, sha256OfFile } from '../../core/hashing.ts';
import type { Logger } from '../../core/logger.ts';
import type { ObjectStorage } from '../types.ts';

/** Object metadata name that carries the master's sha256 (lowercase: S3 lower-cases x-amz-meta-* names). */
export const SHA256_META = 'sha256';

/** Storage key of a video's archived master. */
export const archiveKeyFor = (videoId: string): string => `masters/${videoId}`;

export interface ArchiveMasterOptions {
  /** The archive bucket (R2 in production). */
  readonly storage: ObjectStorage;
  /** The stripped master on local disk; never modified or deleted here. */
  readonly localPath: string;
  readonly key: string;
  /** Upload+verify attempts before giving up; default 3. */
  readonly attempts?: number;
  /** Delay before the 2nd attempt, doubled each time; default 1000 ms. */
  readonly backoffMs?: number;
  /** Cancels the upload (STORAGE_ABORTED, no retry). */
  readonly signal?: AbortSignal;
  readonly logger: Logger;
  /** Injected for tests; default node:timers/promises setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ArchiveResult {
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  /** 0 when a verified copy already existed (idempotent re-run, e.g. after a restore). */
  readonly attempts: number;
}

/** Reads the whole remote object back and compares size, metadata and content hash with the local master. */
export async function verifyArchived(storage: ObjectStorage, key: string, want: { sha256: string; size: number }): Promise<boolean> {
  const info = await storage.head(key);
  if (!info || info.size !== want.size || info.metadata[SHA256_META] !== want.sha256) return false;
  const got = await sha256Of(await storage.get(key));
  return got.sha256 === want.sha256 && got.size === want.size;
}

function mismatch(key: string, detail: string, ctx: Record<string, unknown>): PipelineError {
  return new PipelineError('STORAGE_CHECKSUM_MISMATCH', `Archive copy ${key}: ${detail}.`, { key, ...ctx });
}

async function uploadOnce(o: ArchiveMasterOptions, want: { sha256: string; size: number }): Promise<void> {
  const src = createReadStream(o.localPath);
  const hasher = new HashingStream();
  src.on('error', (err) => hasher.destroy(err));
  hasher.on('close', () => src.destroy()); // a failed put destroys the body; release the file descriptor with it
  await o.storage.put(o.key, src.pipe(hasher), {
    contentType: 'application/octet-stream',
    metadata: { [SHA256_META]: want.sha256 },
    signal: o.signal,
  });
  // The bytes we sent must be the bytes we hashed up front: a master that changed underneath is not archived.
  const sent = hasher.digest();
  if (sent !== want.sha256) throw mismatch(o.key, 'local file changed during upload', { sent, want: want.sha256 });
  if (!(await verifyArchived(o.storage, o.key, want)))
    throw mismatch(o.key, 'read-back differs from the local master', { want: want.sha256 });
}

/**
 * Copies a master to the archive with its sha256 in object metadata, then reads it back and compares before returning.
 * Retries (with backoff) on any failure except an abort; a copy that failed verification is deleted, the local file is
 * never touched: deleting the local copy is a separate decision (retention.ts) gated on this function's success.
 */
export async function archiveMaster(o: ArchiveMasterOptions): Promise<ArchiveResult> {
  const want = await sha256OfFile(o.localPath);
  const base = { key: o.key, sha256: want.sha256, size: want.size };
  if (await verifyArchived(o.storage, o.key, want).catch(() => false)) return { ...base, attempts: 0 };
  const attempts = Math.max(1, o.attempts ?? 3);
  const sleep = o.sleep ?? ((ms: number) => delay(ms));
  let lastErr: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await uploadOnce(o, want);
      o.logger.info({ key: o.key, sha256: want.sha256, size: want.size, attempt }, 'master archived and verified');
      return { ...base, attempts: attempt };
    } catch (err) {
      lastErr = err;
      if (isPipelineError(err, 'STORAGE_ABORTED') || o.signal?.aborted) throw err;
      o.logger.warn({ key: o.key, attempt, err: err instanceof Error ? err.message : String(err) }, 'archive attempt failed');
      // A copy that did not verify must not be mistaken for a good one later.
      if (isPipelineError(err, 'STORAGE_CHECKSUM_MISMATCH')) await o.storage.delete(o.key).catch(() => undefined);
      if (attempt < attempts) await sleep((o.backoffMs ?? 1000) * 2 ** (attempt - 1));
    }
  }
  throw lastErr;
}

export interface ReleaseStagingOptions {
  readonly storage: ObjectStorage;
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly localPath: string;
  /** Deletes the staging copy; default removes `localPath` (a copy kept in a bucket passes its own delete). */
  readonly remove?: () => Promise<void>;
}

/**
 * Deletes a staging copy only when the archive still holds a verified copy (full read-back, not just HEAD): the only
 * copy of a master is never deleted. Throws STORAGE_NOT_ARCHIVED otherwise and leaves the file alone.
 */
export async function releaseStagingCopy(o: ReleaseStagingOptions): Promise<void> {
  if (!(await verifyArchived(o.storage, o.key, o))) {
    throw new PipelineError('STORAGE_NOT_ARCHIVED', `Archive copy ${o.key} is missing or differs; keeping ${o.localPath}.`, { key: o.key });
  }
  await (o.remove ? o.remove() : rm(o.localPath, { force: true }));
}
