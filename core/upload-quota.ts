/** The per-uploader quota contract between tus ingest (which enforces it) and its PostgreSQL ledger in db/. */

/** A whole upload, or one partial upload of a parallel upload (tus concatenation). */
export type QuotaKind = 'upload' | 'partial';
/** Why an upload stopped counting as open. */
export type QuotaCloseReason = 'finished' | 'terminated' | 'concatenated' | 'failed';

export interface QuotaReservation {
  readonly uploadId: string;
  /** Upload-token subject; '' for tokens issued without one (they then share one budget). */
  readonly uploader: string;
  readonly kind: QuotaKind;
  /** Declared Upload-Length; the largest allowed size while the length is deferred. */
  readonly bytes: number;
  /** The video id reserved for a whole upload (its Video-Id); none for partials. */
  readonly videoId?: string;
}

/** What tus ingest needs from a quota: check-and-record at creation, and release when an upload stops being open. */
export interface UploadQuota {
  /** Records the upload, or throws INGEST_QUOTA_OPEN_UPLOADS (429) / INGEST_QUOTA_BYTES (413) and records nothing. */
  reserve(r: QuotaReservation): Promise<void>;
  /** The upload's real size, once known (a deferred length, a finished partial). */
  recordSize(uploadId: string, bytes: number): Promise<void>;
  /** The uploads no longer count as open (idempotent); their bytes keep counting for the day. */
  release(uploadIds: readonly string[], reason: QuotaCloseReason): Promise<void>;
}
