import type { Upload } from '@tus/server';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { QuotaCloseReason, UploadQuota } from '../core/upload-quota.ts';
import { isPartialId, type RefusedUpload, type SafeFileStore } from './safe-file-store.ts';

export interface FinishedUpload {
  readonly id: string;
  /** Absolute path of the complete file. */
  readonly path: string;
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Records a complete upload as a video and returns its id, and whether this call created it (pipeline/intake.ts). Must
 * be idempotent on the upload id: the final PATCH, a repeated one, a HEAD and the upload sweep may all call it for the
 * same upload.
 */
export type UploadFinishHook = (upload: FinishedUpload) => Promise<{ videoId: string; created: boolean }>;

/**
 * The video a finished upload became, and the upload's size; 'deleted' once that video is gone; undefined for an
 * upload that never became a video (VideoRepository.finishedUpload).
 */
export type FinishedUploadLookup = (uploadId: string) => Promise<{ videoId: string; size: number } | 'deleted' | undefined>;

export interface UploadCompletionOptions {
  readonly store: SafeFileStore;
  readonly onFinished: UploadFinishHook;
  /** Answers HEADs for uploads whose files are gone after processing; default none (they answer 404). */
  readonly lookup?: FinishedUploadLookup;
  /** Per-uploader quota ledger; default none. */
  readonly quota?: UploadQuota;
  readonly logger: Logger;
}

export const VIDEO_ID_HEADER = 'Video-Id';

export const isComplete = (u: Upload): boolean => u.size !== undefined && u.offset === u.size;

function cleanMetadata(m: Upload['metadata']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The one way a complete upload becomes a video, shared by the final PATCH, a HEAD on a complete upload, the final
 * request of a concatenation and the upload sweep. The client is told the upload is complete only with a Video-Id,
 * i.e. after the video row exists: when it cannot be written (PostgreSQL down), the request fails with
 * INGEST_FINISH_PENDING so the client retries, and the bytes stay on disk for the sweep to finish them either way.
 */
export class UploadCompletion {
  readonly #o: UploadCompletionOptions;

  constructor(o: UploadCompletionOptions) {
    this.#o = o;
  }

  /** Records `upload` (complete, not a partial) and returns its video id; throws INGEST_FINISH_PENDING if it cannot. */
  async complete(upload: Upload): Promise<string> {
    const size = upload.size ?? upload.offset;
    let videoId: string;
    try {
      // The row promises these bytes to the worker; they must survive a power cut that comes right after it.
      await this.#o.store.sync(upload.id);
      ({ videoId } = await this.#o.onFinished({
        id: upload.id,
        path: this.#o.store.pathOf(upload.id),
        size,
        metadata: cleanMetadata(upload.metadata),
      }));
    } catch (err) {
      throw pendingError(err, upload.id);
    }
    // Bookkeeping only: a failure leaves the slot counted until the upload expires, never the upload unrecorded.
    await this.#quietly('recordSize', () => this.#o.quota?.recordSize(upload.id, size));
    await this.releaseQuietly([upload.id], 'finished');
    return videoId;
  }

  /** The stored upload `id` as complete() records it; undefined for a partial or an upload still receiving bytes. */
  async completeStored(id: string): Promise<string | undefined> {
    if (isPartialId(id)) return undefined;
    const upload = await this.#o.store.getUpload(id);
    return isComplete(upload) ? this.complete(upload) : undefined;
  }

  /**
   * The answer to a HEAD on upload `id`, given @tus/server's `res`. A complete upload carries its Video-Id, after
   * finishing it if no video was recorded yet: on resume, tus-js-client reports success straight from this HEAD when
   * offset = length. An upload whose files are gone because its video was made (the worker deletes the raw upload
   * once the master exists) still answers as complete with that Video-Id, not 404: on a 404, tus-js-client would send
   * the whole file again as a new video. While this cannot be decided (PostgreSQL down), the HEAD fails with
   * INGEST_FINISH_PENDING (423), the one status on which tus-js-client retries it.
   */
  async answerHead(id: string, res: Response): Promise<Response> {
    const length = res.headers.get('upload-length');
    if (res.status === 200 && length !== null && res.headers.get('upload-offset') === length) {
      const videoId = await this.completeStored(id);
      if (videoId) res.headers.set(VIDEO_ID_HEADER, videoId);
      return res;
    }
    if ((res.status !== 404 && res.status !== 410) || !this.#o.lookup || isPartialId(id)) return res;
    const done = await this.#o.lookup(id).catch((err: unknown) => {
      throw pendingError(err, id);
    });
    if (done === 'deleted') throw new PipelineError('INGEST_UPLOAD_GONE', 'The video made from this upload was deleted.', { id });
    if (!done) return res;
    const headers = new Headers(res.headers);
    for (const h of ['content-length', 'content-type']) headers.delete(h);
    headers.set('Cache-Control', 'no-store');
    headers.set('Upload-Offset', String(done.size));
    headers.set('Upload-Length', String(done.size));
    headers.set(VIDEO_ID_HEADER, done.videoId);
    return new Response(null, { status: 200, headers });
  }

  /** A finished partial still counts as open (it holds disk) until a final upload consumes it; its size is now known. */
  async partialFinished(upload: Upload): Promise<void> {
    await this.#quietly('recordSize', () => this.#o.quota?.recordSize(upload.id, upload.size ?? upload.offset));
  }

  /** Releases quota slots once the uploads are gone; a failure only leaves them counted until they expire. */
  /**
   * After a PATCH refused an upload on its first bytes (`refusal`, undefined for another 415): its files are gone, so
   * its slot is free again, as for a terminated upload. Logged with the first bytes, so an operator can tell a real
   * video refused by mistake from junk.
   */
  async refused(id: string, refusal: RefusedUpload | undefined): Promise<void> {
    if (!refusal) return;
    const { err, removeError } = refusal;
    this.#o.logger.info({ uploadId: id, code: err.code, head: err.context['head'], err: removeError }, 'upload refused: not a video file');
    await this.releaseQuietly([id], 'terminated');
  }

  /** A final upload refused on its first bytes: its partials are gone (see createFinalUpload), and so are their slots. */
  async refusedParts(ids: readonly string[], err: PipelineError): Promise<void> {
    this.#o.logger.info({ partIds: ids, code: err.code, head: err.context['head'] }, 'final upload refused: not a video file');
    await this.releaseQuietly(ids, 'terminated');
  }

  async releaseQuietly(ids: readonly string[], reason: QuotaCloseReason): Promise<void> {
    await this.#quietly('release', () => this.#o.quota?.release(ids, reason), { ids, reason });
  }

  async #quietly(what: string, fn: () => Promise<void> | undefined, context: object = {}): Promise<void> {
    await Promise.resolve(fn()).catch((err: unknown) => {
      this.#o.logger.error({ err, ...context }, `upload quota ${what} failed`);
    });
  }
}

/**
 * What the client hears when recording failed: the upload's video was deleted (410), a client error the hook found,
 * or else "pending": every byte is stored, and retrying (or the sweep) will record it once the dependency is back.
 */
function pendingError(err: unknown, id: string): PipelineError {
  if (isPipelineError(err) && err.statusCode < 500) return err;
  return new PipelineError('INGEST_FINISH_PENDING', 'The video could not be recorded yet (a dependency is down).', { id }, { cause: err });
}
