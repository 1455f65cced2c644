import { PipelineError } from '../core/errors.ts';
import type { QuotaCloseReason, QuotaReservation, UploadQuota } from '../core/upload-quota.ts';
import type { Sql } from './client.ts';

export interface UploadQuotaLedgerOptions {
  readonly sql: Sql;
  /** Unfinished whole uploads one uploader may have at once (UPLOAD_MAX_OPEN_PER_USER); default 5; 0 = no limit. */
  readonly maxOpenUploads?: number;
  /**
   * Partial uploads one uploader may hold until they are concatenated (UPLOAD_MAX_OPEN_PARTIALS_PER_USER); default 32;
   * 0 = no limit. Separate from maxOpenUploads so that one parallel upload of several streams is not refused.
   */
  readonly maxOpenPartials?: number;
  /** Declared bytes one uploader may create per rolling 24 h, partials included (UPLOAD_MAX_BYTES_PER_DAY); default 5 GiB; 0 = no limit. */
  readonly maxBytesPerDay?: number;
  /** Uploads older than this have expired (tus expiration, UPLOAD_EXPIRY_HOURS) and stop counting as open; 0 = never. */
  readonly expiryMs: number;
  /** Clock in ms since epoch; default Date.now. */
  readonly now?: () => number;
}

const DAY_MS = 24 * 3600_000;
/** First key of the per-uploader advisory lock (the second is hashtext(uploader)); any constant unused elsewhere. */
const LOCK_CLASS = 731_102_409;

/**
 * Per-uploader quotas in PostgreSQL (migration 0009): every API process shares the counts, and they survive restarts.
 * Creation takes a transaction-scoped advisory lock on the uploader, so two concurrent creations (on any process)
 * cannot both take the last slot. A row stays open until finished, terminated, concatenated (partials) or expired.
 */
export class UploadQuotaLedger implements UploadQuota {
  readonly #sql: Sql;
  readonly #o: UploadQuotaLedgerOptions;
  readonly #now: () => number;

  constructor(o: UploadQuotaLedgerOptions) {
    this.#sql = o.sql;
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  async reserve(r: QuotaReservation): Promise<void> {
    const now = this.#now();
    const dayStart = new Date(now - DAY_MS);
    const openSince = new Date(this.#o.expiryMs > 0 ? now - this.#o.expiryMs : 0);
    await this.#sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${r.uploader}))`;
      // Rows that count for neither limit any more; pruned here so each uploader's rows stay few.
      await tx`DELETE FROM upload_quota_entries WHERE uploader = ${r.uploader} AND created_at <= ${dayStart}
        AND (closed_at IS NOT NULL OR created_at <= ${openSince})`;
      const [use] = await tx<{ open: number; bytes: number }[]>`
        SELECT count(*) FILTER (WHERE kind = ${r.kind} AND closed_at IS NULL AND created_at > ${openSince})::int AS open,
               COALESCE(sum(bytes) FILTER (WHERE created_at > ${dayStart}), 0)::bigint AS bytes
        FROM upload_quota_entries WHERE uploader = ${r.uploader}`;
      this.#check(r, use ?? { open: 0, bytes: 0 });
      await tx`INSERT INTO upload_quota_entries (upload_id, uploader, kind, bytes, created_at, video_id)
        VALUES (${r.uploadId}, ${r.uploader}, ${r.kind}, ${r.bytes}, ${new Date(now)}, ${r.videoId ?? null})`;
    });
  }

  async recordSize(uploadId: string, bytes: number): Promise<void> {
    await this.#sql`UPDATE upload_quota_entries SET bytes = ${bytes} WHERE upload_id = ${uploadId}`;
  }

  async release(uploadIds: readonly string[], reason: QuotaCloseReason): Promise<void> {
    if (uploadIds.length === 0) return;
    await this.#sql`UPDATE upload_quota_entries SET closed_at = ${new Date(this.#now())}, closed_reason = ${reason}
      WHERE upload_id IN ${this.#sql(uploadIds)} AND closed_at IS NULL`;
  }

  #check(r: QuotaReservation, use: { open: number; bytes: number }): void {
    const maxOpen = r.kind === 'partial' ? (this.#o.maxOpenPartials ?? 32) : (this.#o.maxOpenUploads ?? 5);
    if (maxOpen > 0 && use.open >= maxOpen) {
      const what = r.kind === 'partial' ? 'partial uploads (parallel-upload streams)' : 'unfinished uploads';
      throw new PipelineError('INGEST_QUOTA_OPEN_UPLOADS', `You already have ${use.open} ${what}; the limit is ${maxOpen}.`, {
        kind: r.kind,
        open: use.open,
        max: maxOpen,
      });
    }
    const maxBytes = this.#o.maxBytesPerDay ?? 5 * 1024 ** 3;
    if (maxBytes > 0 && use.bytes + r.bytes > maxBytes) {
      throw new PipelineError(
        'INGEST_QUOTA_BYTES',
        `${r.bytes} more bytes would make ${use.bytes + r.bytes} in 24 h; the limit is ${maxBytes} (${Math.max(0, maxBytes - use.bytes)} left).`,
        { usedBytes: use.bytes, requestedBytes: r.bytes, maxBytesPerDay: maxBytes },
      );
    }
  }
}
