import type { Sql } from './client.ts';
import { isUuid } from './videos.ts';

/** The archive/offload columns of a video (migration 0006). */
export interface ArchiveRow {
  id: string;
  master_sha256: string | null;
  master_size_bytes: number | null;
  archive_key: string | null;
  archived_at: Date | null;
  staging_path: string | null;
  staging_deleted_at: Date | null;
  stream_uid: string | null;
  stream_state: string | null;
  stream_error_code: string | null;
  stream_hls_url: string | null;
  stream_dash_url: string | null;
  stream_thumbnail_url: string | null;
}

export interface StreamUpdate {
  readonly state: string;
  readonly errorCode: string | null;
  readonly hlsUrl: string | null;
  readonly dashUrl: string | null;
  readonly thumbnailUrl: string | null;
}

const COLUMNS = `id, master_sha256, master_size_bytes, archive_key, archived_at, staging_path, staging_deleted_at,
  stream_uid, stream_state, stream_error_code, stream_hls_url, stream_dash_url, stream_thumbnail_url`;

/** Data access for the archive and Stream columns; kept apart from VideoRepository, which would otherwise outgrow one file. */
export class ArchiveRecords {
  constructor(private readonly sql: Sql) {}

  async get(id: string): Promise<ArchiveRow | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.sql<ArchiveRow[]>`SELECT ${this.sql.unsafe(COLUMNS)} FROM videos WHERE id = ${id}`;
    return row;
  }

  /** Records a verified archive copy; called only after the read-back matched. `at` comes from the injected clock. */
  async markArchived(id: string, a: { sha256: string; size: number; key: string; stagingPath: string; at: Date }): Promise<void> {
    await this.sql`UPDATE videos SET master_sha256 = ${a.sha256}, master_size_bytes = ${a.size}, archive_key = ${a.key},
      archived_at = ${a.at}, staging_path = ${a.stagingPath}, staging_deleted_at = NULL, updated_at = now() WHERE id = ${id}`;
  }

  /** Archived videos whose staging copy is older than `cutoff` and still present. */
  async dueForStagingCleanup(cutoff: Date, limit = 100): Promise<ArchiveRow[]> {
    return this.sql<ArchiveRow[]>`SELECT ${this.sql.unsafe(COLUMNS)} FROM videos
      WHERE archived_at IS NOT NULL AND archived_at < ${cutoff} AND staging_deleted_at IS NULL AND staging_path IS NOT NULL
      ORDER BY archived_at LIMIT ${limit}`;
  }

  async markStagingDeleted(id: string): Promise<void> {
    await this.sql`UPDATE videos SET staging_deleted_at = now(), updated_at = now() WHERE id = ${id}`;
  }

  /** A restored master is a fresh staging copy again (it too expires after the retention period). */
  async markRestored(id: string, stagingPath: string): Promise<void> {
    await this.sql`UPDATE videos SET staging_path = ${stagingPath}, staging_deleted_at = NULL, updated_at = now() WHERE id = ${id}`;
  }

  async setStreamUid(id: string, uid: string, state: string): Promise<void> {
    await this.sql`UPDATE videos SET stream_uid = ${uid}, stream_state = ${state}, stream_error_code = NULL,
      stream_updated_at = now(), updated_at = now() WHERE id = ${id}`;
  }

  /** Offloaded videos still processing at Stream whose state was last updated before `before` (poll fallback). */
  async pendingStream(before: Date, limit = 50): Promise<ArchiveRow[]> {
    return this.sql<ArchiveRow[]>`SELECT ${this.sql.unsafe(COLUMNS)} FROM videos
      WHERE stream_uid IS NOT NULL AND stream_state NOT IN ('ready', 'error') AND stream_updated_at < ${before}
      ORDER BY stream_updated_at LIMIT ${limit}`;
  }

  /** Applies a poll result or webhook to the video holding `uid`; returns the video id, undefined when unknown. */
  async updateStream(uid: string, u: StreamUpdate): Promise<string | undefined> {
    const [row] = await this.sql<{ id: string }[]>`UPDATE videos SET stream_state = ${u.state}, stream_error_code = ${u.errorCode},
      stream_hls_url = ${u.hlsUrl}, stream_dash_url = ${u.dashUrl}, stream_thumbnail_url = ${u.thumbnailUrl},
      stream_updated_at = now(), updated_at = now() WHERE stream_uid = ${uid} RETURNING id`;
    return row?.id;
  }
}
