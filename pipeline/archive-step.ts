import { describeError } from '../core/errors.ts';
import type { ArchiveRecords } from '../db/archive-records.ts';
import { archiveKeyFor, archiveMaster } from '../storage/archive/archive.ts';
import { offloadToStream } from './stream-offload.ts';
import type { StreamClient } from '../storage/stream/client.ts';
import type { ObjectStorage } from '../storage/types.ts';
import type { Logger } from '../core/logger.ts';

export interface ArchiveStepDeps {
  readonly archive: ObjectStorage;
  readonly records: ArchiveRecords;
  readonly logger: Logger;
  /** Upload+verify attempts inside one job run (the job itself is retried by BullMQ on top). */
  readonly attempts: number;
  readonly now: () => Date;
  /** Optional Cloudflare Stream offload after the archive. */
  readonly stream?: { readonly client: StreamClient; readonly requireSignedURLs: boolean };
}

/**
 * Pipeline step: archive the (scanned, stripped) master and record its verified sha256, then optionally hand it to
 * Cloudflare Stream. Archive failures fail the job (a master must be safe before we spend CPU on it); Stream is an
 * optional extra, so its failures are logged and the self-hosted HLS goes ahead.
 */
export async function archiveAndOffload(
  d: ArchiveStepDeps,
  v: { videoId: string; localPath: string; title: string; /** Recorded staging copy; default localPath. */ stagingPath?: string },
): Promise<void> {
  const key = archiveKeyFor(v.videoId);
  const r = await archiveMaster({ storage: d.archive, localPath: v.localPath, key, attempts: d.attempts, logger: d.logger });
  await d.records.markArchived(v.videoId, { sha256: r.sha256, size: r.size, key, stagingPath: v.stagingPath ?? v.localPath, at: d.now() });
  if (!d.stream) return;
  const existing = await d.records.get(v.videoId);
  if (existing?.stream_uid) return; // a retried or restored job must not upload a second copy to Stream
  try {
    const o = await offloadToStream({
      client: d.stream.client,
      records: d.records,
      videoId: v.videoId,
      name: v.title,
      archive: d.archive,
      archiveKey: key,
      localPath: v.localPath,
      requireSignedURLs: d.stream.requireSignedURLs,
    });
    d.logger.info({ videoId: v.videoId, uid: o.uid, via: o.via }, 'offloaded to Cloudflare Stream');
  } catch (err) {
    d.logger.error({ videoId: v.videoId, err: describeError(err) }, 'Stream offload failed; self-hosted HLS continues');
  }
}
