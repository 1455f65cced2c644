import type { ModerationStatus, SourceProbe, VideoStatus } from '../core/types.ts';
import type { Sql } from './client.ts';

export interface VideoRow {
  id: string;
  upload_id: string | null;
  title: string;
  description: string;
  original_filename: string | null;
  uploader_id: string | null;
  status: VideoStatus;
  stage: string | null;
  progress: number;
  error_code: string | null;
  error_message: string | null;
  source_size_bytes: number | null;
  source_probe: SourceProbe | null;
  duration_sec: number | null;
  source_key: string | null;
  hls_prefix: string | null;
  master_key: string | null;
  moderation_status: ModerationStatus;
  moderation_notes: string | null;
  moderated_by: string | null;
  moderated_at: Date | null;
  created_at: Date;
  updated_at: Date;
  ready_at: Date | null;
  /** ClamAV verdict (migration 0003); null until scanned. */
  scan_result: 'clean' | 'infected' | null;
  scan_signature: string | null;
  scanned_at: Date | null;
  /** sha256 of the upload exactly as received. */
  source_sha256: string | null;
  quarantine_path: string | null;
  /** Path of the metadata-stripped master relative to the masters directory. */
  stripped_master_key: string | null;
  stripped_sha256: string | null;
  stripped_size_bytes: number | null;
  /** Set when the EVENT package became playable (migration 0005). */
  previewable_at: Date | null;
  poster_key: string | null;
  /** Key of the storyboard WebVTT; its cues name the sprite next to it. */
  storyboard_key: string | null;
  posters: PosterRow[];
  /** Bumped by a trigger whenever access is revoked (migration 0008); signed playback URLs carry it. */
  access_epoch: number;
}

/** What every signed HLS request is checked against: the few columns that decide who may play the video. */
export interface AccessStateRow {
  status: VideoStatus;
  moderation_status: ModerationStatus;
  uploader_id: string | null;
  previewable: boolean;
  access_epoch: number;
}

/** One poster image in the posters jsonb column. */
export interface PosterRow {
  key: string;
  width: number;
  height: number;
  format: 'jpeg' | 'webp';
}

export interface RenditionRow {
  video_id: string;
  name: string;
  kind: 'video' | 'audio';
  width: number | null;
  height: number | null;
  fps: number | null;
  codecs: string;
  bandwidth: number;
  average_bandwidth: number;
  playlist_key: string;
  size_bytes: number;
}

export interface NewVideo {
  readonly uploadId: string;
  readonly title: string;
  readonly description: string;
  readonly originalFilename: string | null;
  readonly uploaderId: string | null;
  readonly sourceKey: string;
  readonly sourceSizeBytes: number;
}

/** Data access for videos. Every write bumps updated_at; callers never build SQL. */
export class VideoRepository {
  constructor(private readonly sql: Sql) {}

  /** Idempotent on upload_id: a retried finish hook returns the row created the first time. */
  async createFromUpload(v: NewVideo): Promise<VideoRow> {
    const [row] = await this.sql<VideoRow[]>`
      INSERT INTO videos (upload_id, title, description, original_filename, uploader_id, source_key, source_size_bytes)
      VALUES (${v.uploadId}, ${v.title}, ${v.description}, ${v.originalFilename}, ${v.uploaderId}, ${v.sourceKey}, ${v.sourceSizeBytes})
      ON CONFLICT (upload_id) DO UPDATE SET updated_at = videos.updated_at
      RETURNING *`;
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    return row;
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

  async markProcessing(id: string, stage: string, probe?: SourceProbe): Promise<void> {
    await this.sql`
      UPDATE videos SET status = 'processing', stage = ${stage}, error_code = NULL, error_message = NULL,
        source_probe = COALESCE(${probe ? this.sql.json(probe as never) : null}, source_probe),
        duration_sec = COALESCE(${probe?.durationSec ?? null}, duration_sec), updated_at = now()
      WHERE id = ${id}`;
  }

  async setProgress(id: string, stage: string, progress: number): Promise<void> {
    const p = Math.max(0, Math.min(100, progress));
    await this.sql`UPDATE videos SET stage = ${stage}, progress = ${p}, updated_at = now() WHERE id = ${id}`;
  }

  /** Publishes renditions and flips the video to ready in one transaction, so readers never see half a result. */
  async markReady(id: string, r: { hlsPrefix: string; masterKey: string; renditions: Omit<RenditionRow, 'video_id'>[] }): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`DELETE FROM renditions WHERE video_id = ${id}`;
      for (const x of r.renditions) {
        await tx`INSERT INTO renditions ${tx({ ...x, video_id: id })}`;
      }
      await tx`UPDATE videos SET status = 'ready', stage = 'done', progress = 100, hls_prefix = ${r.hlsPrefix},
        master_key = ${r.masterKey}, ready_at = now(), updated_at = now() WHERE id = ${id}`;
    });
  }

  /** Clean ClamAV verdict and the sha256 of the upload as received. */
  async recordCleanScan(id: string, sha256: string): Promise<void> {
    await this.sql`UPDATE videos SET scan_result = 'clean', scan_signature = NULL, scanned_at = now(), source_sha256 = ${sha256},
      updated_at = now() WHERE id = ${id}`;
  }

  /** Terminal: malware found; the file sits in quarantine and the video never reaches the transcoder. */
  async markInfected(id: string, r: { signature: string; sha256: string; quarantinePath: string }): Promise<void> {
    await this.sql`UPDATE videos SET status = 'infected', scan_result = 'infected', scan_signature = ${r.signature},
      scanned_at = now(), source_sha256 = ${r.sha256}, quarantine_path = ${r.quarantinePath}, error_code = 'INGEST_INFECTED',
      error_message = ${`ClamAV: ${r.signature}`}, updated_at = now() WHERE id = ${id}`;
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

  /** Terminal failure (`rejected` for bad input, `failed` for our side) with a stable error code. */
  async markFailed(id: string, status: 'failed' | 'rejected', code: string, message: string): Promise<void> {
    await this.sql`UPDATE videos SET status = ${status}, error_code = ${code}, error_message = ${message.slice(0, 2000)},
      updated_at = now() WHERE id = ${id}`;
  }
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
