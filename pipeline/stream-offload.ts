import { describeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ArchiveRecords } from '../db/archive-records.ts';
import type { ObjectStorage } from '../storage/types.ts';
import type { StreamClient } from '../storage/stream/client.ts';
import type { StreamVideo } from '../storage/stream/video.ts';

export interface OffloadOptions {
  readonly client: StreamClient;
  readonly records: ArchiveRecords;
  readonly videoId: string;
  /** Display name sent as meta.name. */
  readonly name: string;
  /** Archive bucket and key of the verified master. */
  readonly archive: ObjectStorage;
  readonly archiveKey: string;
  /** Local master, uploaded over tus when the archive cannot give Stream a URL. */
  readonly localPath: string;
  /** Kids' videos are private: tokens required for playback. Default true. */
  readonly requireSignedURLs?: boolean;
  /** Lifetime of the presigned URL handed to Stream; default 6 h (Stream may queue the download). */
  readonly presignTtlSec?: number;
}

/**
 * Hands a master to Cloudflare Stream: copy from a presigned archive URL when the archive can sign one (R2/MinIO),
 * else a tus upload of the local file (the non-public case). Records the uid; state then follows webhooks or polls.
 */
export async function offloadToStream(o: OffloadOptions): Promise<{ uid: string; via: 'copy' | 'tus' }> {
  const requireSignedURLs = o.requireSignedURLs ?? true;
  const url = await o.archive.presignGet(o.archiveKey, { expiresInSec: o.presignTtlSec ?? 6 * 3600 });
  if (url) {
    const v = await o.client.copyFromUrl({ url, name: o.name, requireSignedURLs, meta: { videoId: o.videoId } });
    await o.records.setStreamUid(o.videoId, v.uid, v.state);
    return { uid: v.uid, via: 'copy' };
  }
  const uid = await o.client.uploadFile({ path: o.localPath, name: o.name, requireSignedURLs });
  await o.records.setStreamUid(o.videoId, uid, 'queued');
  return { uid, via: 'tus' };
}

/** Stores a poll result or verified webhook; returns the video id, undefined for a uid we never offloaded. */
export function applyStreamVideo(records: ArchiveRecords, v: StreamVideo): Promise<string | undefined> {
  return records.updateStream(v.uid, {
    state: v.state,
    errorCode: v.errorReasonCode,
    hlsUrl: v.hlsUrl,
    dashUrl: v.dashUrl,
    thumbnailUrl: v.thumbnailUrl,
  });
}

export interface RefreshStreamOptions {
  readonly client: StreamClient;
  readonly records: ArchiveRecords;
  readonly logger: Logger;
  /** Clock in ms since the epoch; default Date.now. */
  readonly now?: () => number;
  /** Only videos not updated for this long are polled (webhooks usually arrive first); default 10 min. */
  readonly staleAfterMs?: number;
}

/** Poll fallback for lost webhooks: GET /stream/{uid} once for each video still processing at Stream. */
export async function refreshPendingStream(o: RefreshStreamOptions): Promise<number> {
  const rows = await o.records.pendingStream(new Date((o.now ?? Date.now)() - (o.staleAfterMs ?? 10 * 60_000)));
  let updated = 0;
  for (const r of rows) {
    try {
      await applyStreamVideo(o.records, await o.client.get(r.stream_uid!));
      updated++;
    } catch (err) {
      o.logger.warn({ videoId: r.id, uid: r.stream_uid, err: describeError(err) }, 'Stream status poll failed');
    }
  }
  return updated;
}
