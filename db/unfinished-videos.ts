import type { VideoStatus } from '../core/types.ts';
import type { Sql } from './client.ts';

/** Statuses a video passes through before its verdict; every other status is final. */
export const UNFINISHED_STATUSES = ['uploaded', 'processing'] as const;
export type UnfinishedStatus = (typeof UNFINISHED_STATUSES)[number];

/** What the reconciler needs to re-queue a video's job. */
export interface UnfinishedVideoRow {
  id: string;
  status: UnfinishedStatus;
  stage: string | null;
  /** The tus upload id (file name in the upload dir). */
  source_key: string | null;
  /** The stripped master, relative to the masters dir; prepare reuses it when it still exists. */
  stripped_master_key: string | null;
  /** Staging copy: the master, or a master restored from the archive into the upload dir. */
  staging_path: string | null;
  staging_deleted_at: Date | null;
  updated_at: Date;
}

export interface StuckVideoRow {
  id: string;
  status: UnfinishedStatus;
  stage: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Arbitrary constant shared by every worker process of this schema (pg advisory lock key); not migrate.ts's. */
const RECONCILE_LOCK_KEY = 7_311_024_113;

/**
 * Reads and marks for the reconciler and the stuck-video check (migration 0013). Kept apart from VideoRepository:
 * these look across all unfinished videos, never at one video's pipeline step.
 */
export class UnfinishedVideos {
  constructor(private readonly sql: Sql) {}

  /**
   * Unfinished videos without a fresh worker heartbeat, in id order after `afterId` (keyset paging), at most `limit`.
   * A heartbeat younger than `heartbeatStaleMs` means a worker is running the video's job even if Redis lost it.
   */
  async unowned(o: { afterId: string | undefined; limit: number; heartbeatStaleMs: number }): Promise<UnfinishedVideoRow[]> {
    return this.sql<UnfinishedVideoRow[]>`
      SELECT id, status, stage, source_key, stripped_master_key, staging_path, staging_deleted_at, updated_at FROM videos
      WHERE status IN ('uploaded', 'processing')
        AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => ${o.heartbeatStaleMs / 1000}))
        AND id > ${o.afterId ?? '00000000-0000-0000-0000-000000000000'}::uuid
      ORDER BY id LIMIT ${o.limit}`;
  }

  /** The video's status now (re-read right before a repair, so a row that just finished is left alone). */
  async statusOf(id: string): Promise<VideoStatus | undefined> {
    const [row] = await this.sql<{ status: VideoStatus }[]>`SELECT status FROM videos WHERE id = ${id}`;
    return row?.status;
  }

  /**
   * Unfinished videos whose row has not changed for `minutes` and that were not reported since their last change;
   * marks them reported in the same statement, so each stuck spell is logged once across all processes.
   */
  async reportNewlyStuck(minutes: number): Promise<StuckVideoRow[]> {
    return this.sql<StuckVideoRow[]>`
      UPDATE videos SET stuck_reported_at = now()
      WHERE status IN ('uploaded', 'processing') AND updated_at < now() - make_interval(mins => ${minutes})
        AND (stuck_reported_at IS NULL OR stuck_reported_at < updated_at)
      RETURNING id, status, stage, created_at, updated_at`;
  }

  /** How many unfinished videos have not changed for `minutes`. */
  async countStuck(minutes: number): Promise<number> {
    const [row] = await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM videos
      WHERE status IN ('uploaded', 'processing') AND updated_at < now() - make_interval(mins => ${minutes})`;
    return row?.n ?? 0;
  }

  /**
   * Runs `fn` while this session holds the reconciler's advisory lock, or returns `{ ran: false }` at once when another
   * process holds it. A session lock on a reserved connection, not a transaction: nothing stays open in the database
   * while `fn` talks to Redis, and a process that dies releases the lock with its connection.
   */
  async whileLocked<T>(fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const conn = await this.sql.reserve();
    try {
      const [row] = await conn<{ locked: boolean }[]>`SELECT pg_try_advisory_lock(${RECONCILE_LOCK_KEY}) AS locked`;
      if (!row?.locked) return { ran: false };
      try {
        return { ran: true, value: await fn() };
      } finally {
        await conn`SELECT pg_advisory_unlock(${RECONCILE_LOCK_KEY})`;
      }
    } finally {
      conn.release();
    }
  }
}
