import type { TransactionSql } from 'postgres';
import { PipelineError } from '../core/errors.ts';
import type { Dependency, SourceProbe, VideoStatus } from '../core/types.ts';
import type { Sql } from './client.ts';
import type { AccessStateRow, NewVideo, PosterRow, RenditionRow, VideoRow } from './video-rows.ts';
import { insertVideoEvent, playbackPath } from './video-events.ts';

export type { AccessStateRow, NewVideo, PosterRow, RenditionRow, VideoRow } from './video-rows.ts';

/** Data access for videos. Every write bumps updated_at; callers never build SQL. */
export class VideoRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Idempotent on upload_id: a retried finish returns the row created the first time (`inserted` says which call
   * created it), with the id reserved at the upload's creation when there is one. The call that creates the row also
   * stores its video.created event. Records the upload in
   * upload_finishes in the same transaction (migration 0010); once that video is deleted, the upload is never made
   * into a video again (INGEST_UPLOAD_GONE), whoever repeats the finish.
   */
  async createFromUpload(v: NewVideo): Promise<VideoRow & { inserted: boolean }> {
    return this.sql.begin(async (tx) => {
      const [done] = await tx<{ video_id: string }[]>`SELECT video_id FROM upload_finishes WHERE upload_id = ${v.uploadId}`;
      if (done) {
        const [prior] = await tx<VideoRow[]>`SELECT * FROM videos WHERE id = ${done.video_id}`;
        if (!prior) throw new PipelineError('INGEST_UPLOAD_GONE', 'The video made from this upload was deleted.', { uploadId: v.uploadId });
        return { ...prior, inserted: false };
      }
      // xmax is 0 on a row this statement inserted, set on one the ON CONFLICT branch touched (a concurrent finish).
      const [row] = await tx<Array<VideoRow & { inserted: boolean }>>`
        INSERT INTO videos (id, upload_id, title, description, original_filename, uploader_id, source_key, source_size_bytes,
          passthrough)
        VALUES (COALESCE(${v.id ?? null}::uuid, gen_random_uuid()), ${v.uploadId}, ${v.title}, ${v.description},
          ${v.originalFilename}, ${v.uploaderId}, ${v.sourceKey}, ${v.sourceSizeBytes}, ${v.passthrough ?? null})
        ON CONFLICT (upload_id) DO UPDATE SET updated_at = videos.updated_at
        RETURNING *, (xmax = 0) AS inserted`;
      if (!row) throw new Error('INSERT ... RETURNING returned no row');
      await tx`INSERT INTO upload_finishes (upload_id, video_id) VALUES (${v.uploadId}, ${row.id}) ON CONFLICT DO NOTHING`;
      if (row.inserted) await insertVideoEvent(tx, 'video.created', row);
      return row;
    });
  }

  /**
   * For each of `uploadIds` that became a video: the video's status, or 'deleted' once its row is gone. Uploads that
   * never became a video are absent from the map.
   */
  async uploadStates(uploadIds: readonly string[]): Promise<Map<string, VideoStatus | 'deleted'>> {
    if (!uploadIds.length) return new Map();
    const rows = await this.sql<Array<{ upload_id: string; status: VideoStatus | null }>>`
      SELECT f.upload_id, v.status FROM upload_finishes f LEFT JOIN videos v ON v.id = f.video_id
      WHERE f.upload_id = ANY(${uploadIds as string[]}::text[])`;
    return new Map(rows.map((r) => [r.upload_id, r.status ?? 'deleted']));
  }

  /**
   * The upload a video id was reserved for at creation (migration 0014), while no video row has that id: who uploads
   * and whether the upload is still open (not finished, terminated or failed). Undefined when the id was never handed out.
   */
  async reservation(videoId: string): Promise<{ uploader: string; open: boolean } | undefined> {
    if (!isUuid(videoId)) return undefined;
    const [r] = await this.sql<Array<{ uploader: string; open: boolean }>>`
      SELECT uploader, closed_at IS NULL AS open FROM upload_quota_entries WHERE video_id = ${videoId}`;
    return r;
  }

  /** The video upload `uploadId` became and the upload's size; 'deleted' once that row is gone; undefined if none. */
  async finishedUpload(uploadId: string): Promise<{ videoId: string; size: number } | 'deleted' | undefined> {
    const [r] = await this.sql<Array<{ video_id: string; size: number | null; present: boolean }>>`
      SELECT f.video_id, v.source_size_bytes AS size, v.id IS NOT NULL AS present
      FROM upload_finishes f LEFT JOIN videos v ON v.id = f.video_id WHERE f.upload_id = ${uploadId}`;
    if (!r) return undefined;
    return r.present ? { videoId: r.video_id, size: r.size ?? 0 } : 'deleted';
  }

  async get(id: string): Promise<VideoRow | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${id}`;
    return row;
  }

  /** The access-deciding columns only: read on every uncached HLS request, so it stays one small index lookup. */
  async accessState(id: string): Promise<AccessStateRow | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.sql<AccessStateRow[]>`SELECT status, moderation_status, uploader_id,
      previewable_at IS NOT NULL AS previewable, access_epoch FROM videos WHERE id = ${id}`;
    return row;
  }

  /** Processing status of each existing video among `ids`; ids without a row are absent from the map. */
  async statusesOf(ids: readonly string[]): Promise<Map<string, VideoStatus>> {
    const valid = ids.filter(isUuid);
    if (!valid.length) return new Map();
    const rows = await this.sql<Array<{ id: string; status: VideoStatus }>>`SELECT id, status FROM videos WHERE id = ANY(${valid}::uuid[])`;
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  async renditions(videoId: string): Promise<RenditionRow[]> {
    return this.sql<RenditionRow[]>`SELECT * FROM renditions WHERE video_id = ${videoId} ORDER BY kind DESC, bandwidth`;
  }

  /** Answers when the database does (one round trip); outage classification asks it whether it is the one down. */
  async ping(): Promise<void> {
    await this.sql`SELECT 1`;
  }

  /**
   * The row is on its way (again). Never an infected one: the scan's verdict arrives while the transcode already
   * runs (pipeline/scan-gate.ts), and a stage update that lands after it must not make the video look alive again.
   */
  async markProcessing(id: string, stage: string, probe?: SourceProbe): Promise<void> {
    await this.sql`
      UPDATE videos SET status = 'processing', stage = ${stage}, error_code = NULL, error_message = NULL,
        waiting_for = NULL, waiting_since = NULL,
        source_probe = COALESCE(${probe ? this.sql.json(probe as never) : null}, source_probe),
        duration_sec = COALESCE(${probe?.durationSec ?? null}, duration_sec), updated_at = now()
      WHERE id = ${id} AND status <> 'infected'`;
  }

  async setProgress(id: string, stage: string, progress: number): Promise<void> {
    const p = Math.max(0, Math.min(100, progress));
    await this.sql`UPDATE videos SET stage = ${stage}, progress = ${p}, updated_at = now() WHERE id = ${id}`;
  }

  /**
   * The job is delayed until `dependency` is back (no attempt spent). Only a video still on its way is touched: a
   * terminal row stays as it is.
   */
  async markWaiting(id: string, dependency: Dependency, since: Date): Promise<void> {
    await this.sql`UPDATE videos SET status = 'processing', stage = 'waiting', waiting_for = ${dependency},
      waiting_since = ${since}, updated_at = now() WHERE id = ${id} AND status IN ('uploaded', 'processing')`;
  }

  /**
   * Publishes renditions, flips the video to ready and stores its video.ready event in one transaction, so readers
   * never see half a result and the event exists exactly when the video is ready.
   */
  async markReady(id: string, r: { hlsPrefix: string; masterKey: string; renditions: Omit<RenditionRow, 'video_id'>[] }): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`DELETE FROM renditions WHERE video_id = ${id}`;
      for (const x of r.renditions) {
        await tx`INSERT INTO renditions ${tx({ ...x, video_id: id })}`;
      }
      const [row] = await tx<VideoRow[]>`UPDATE videos SET status = 'ready', stage = 'done',
        progress = 100, hls_prefix = ${r.hlsPrefix}, master_key = ${r.masterKey}, waiting_for = NULL, waiting_since = NULL,
        ready_at = now(), updated_at = now() WHERE id = ${id} RETURNING *`;
      // The playback endpoint, not the storage key: receivers get signed URLs from it for whoever asks.
      if (row) await insertVideoEvent(tx, 'video.ready', row, { playback: { path: playbackPath(id) }, durationSec: row.duration_sec });
    });
  }

  /** Clean ClamAV verdict and the sha256 of the upload as received. */
  async recordCleanScan(id: string, sha256: string): Promise<void> {
    await this.sql`UPDATE videos SET scan_result = 'clean', scan_signature = NULL, scanned_at = now(), source_sha256 = ${sha256},
      updated_at = now() WHERE id = ${id}`;
  }

  /**
   * Terminal: malware found; the file goes to quarantine and the video never reaches the transcoder. Recorded before
   * the file is moved, so a job retried after a crash in between finds the verdict and only finishes the move.
   */
  async markInfected(id: string, r: { signature: string; sha256: string; quarantinePath: string }): Promise<void> {
    await this.sql.begin(async (tx) => {
      const changed = await endProcessing(tx, id, 'infected');
      const [row] = await tx<VideoRow[]>`UPDATE videos SET scan_result = 'infected', scan_signature = ${r.signature},
        scanned_at = now(), source_sha256 = ${r.sha256}, quarantine_path = ${r.quarantinePath}, error_code = 'INGEST_INFECTED',
        error_message = ${`ClamAV: ${r.signature}`} WHERE id = ${id} RETURNING *`;
      if (changed && row) await insertVideoEvent(tx, 'video.failed', row, { code: 'INGEST_INFECTED', status: 'infected' });
    });
  }

  async recordStrippedMaster(id: string, m: { key: string; sha256: string; sizeBytes: number }): Promise<void> {
    await this.sql`UPDATE videos SET stripped_master_key = ${m.key}, stripped_sha256 = ${m.sha256},
      stripped_size_bytes = ${m.sizeBytes}, updated_at = now() WHERE id = ${id}`;
  }

  /**
   * The progressively published package is playable: points the row at the master (still EVENT) so the API can offer
   * a moderator preview while status stays `processing`.
   */
  async markPreviewable(id: string, r: { hlsPrefix: string; masterKey: string }): Promise<void> {
    await this.sql`UPDATE videos SET hls_prefix = ${r.hlsPrefix}, master_key = ${r.masterKey}, previewable_at = now(),
      updated_at = now() WHERE id = ${id}`;
  }

  /**
   * Withdraws the preview of a package that is about to be replaced (a retry, a stalled job's restart, a re-process):
   * the API stops offering it and, while the video is processing, every preview URL already issued is revoked (a new
   * access epoch), so no player keeps following an EVENT playlist that nobody will finish. Returns whether there was
   * a preview to withdraw. A ready video keeps its epoch: it stays watchable as ready until its status changes, and
   * that change bumps the epoch through the trigger.
   */
  async clearPreview(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const rows = await this.sql`UPDATE videos SET previewable_at = NULL,
        access_epoch = access_epoch + CASE WHEN status = 'processing' THEN 1 ELSE 0 END, updated_at = now()
      WHERE id = ${id} AND previewable_at IS NOT NULL RETURNING id`;
    return rows.length > 0;
  }

  /** A worker is on this video (see migration 0013); does not count as progress, so updated_at stays. */
  async heartbeat(id: string): Promise<void> {
    await this.sql`UPDATE videos SET heartbeat_at = now() WHERE id = ${id}`;
  }

  async setArtwork(id: string, a: { posterKey: string | null; storyboardKey: string | null; posters: PosterRow[] }): Promise<void> {
    await this.sql`UPDATE videos SET poster_key = ${a.posterKey}, storyboard_key = ${a.storyboardKey},
      posters = ${this.sql.json(a.posters as never)}, updated_at = now() WHERE id = ${id}`;
  }

  /**
   * Terminal failure (`rejected` for bad input, `failed` for our side) with a stable error code, and its video.failed
   * event in the same transaction (once per transition: recording the same status again adds no second event).
   */
  async markFailed(id: string, status: 'failed' | 'rejected', code: string, message: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      const changed = await endProcessing(tx, id, status);
      const [row] = await tx<VideoRow[]>`UPDATE videos SET error_code = ${code}, error_message = ${message.slice(0, 2000)}
        WHERE id = ${id} RETURNING *`;
      if (changed && row) await insertVideoEvent(tx, 'video.failed', row, { code, status });
    });
  }
}

/** Sets a terminal status (clearing any wait); true when the status changed, i.e. this call made the transition. */
async function endProcessing(tx: TransactionSql, id: string, status: VideoStatus): Promise<boolean> {
  const [prev] = await tx<Array<{ status: VideoStatus }>>`SELECT status FROM videos WHERE id = ${id} FOR UPDATE`;
  if (!prev) return false;
  await tx`UPDATE videos SET status = ${status}, waiting_for = NULL, waiting_since = NULL, updated_at = now() WHERE id = ${id}`;
  return prev.status !== status;
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
