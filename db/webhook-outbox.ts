import type { TransactionSql } from 'postgres';
import type { WebhookEventType } from '../core/types.ts';
import type { Sql } from './client.ts';

/** One pending or relayed event (migration 0012). The id is the event id receivers see. */
export interface OutboxRow {
  id: string;
  event_type: WebhookEventType;
  video_id: string;
  data: Record<string, unknown>;
  created_at: Date;
  relayed_at: Date | null;
}

/**
 * Adds an event inside the caller's transaction: the repositories call this from the same transaction as the state
 * change the event reports, so the event is stored exactly when that change commits.
 */
export async function insertOutboxEvent(
  tx: TransactionSql,
  type: WebhookEventType,
  videoId: string,
  data: Readonly<Record<string, unknown>>,
): Promise<void> {
  await tx`INSERT INTO webhook_outbox (event_type, video_id, data) VALUES (${type}, ${videoId}, ${tx.json({ videoId, ...data } as never)})`;
}

/** The relay's side of the outbox: claim pending events, mark them relayed, prune old ones. */
export class WebhookOutbox {
  constructor(private readonly sql: Sql) {}

  /**
   * Hands up to `limit` pending events (oldest first) to `relay` and marks them relayed when it resolves, in one
   * transaction. Rows are locked with SKIP LOCKED, so several worker processes relay side by side without taking the
   * same rows; if `relay` throws (the queue is down), nothing is marked and the rows stay pending. Returns the count.
   */
  async relayPending(limit: number, relay: (rows: readonly OutboxRow[]) => Promise<void>): Promise<number> {
    return this.sql.begin(async (tx) => {
      const rows = await tx<OutboxRow[]>`SELECT * FROM webhook_outbox WHERE relayed_at IS NULL
        ORDER BY created_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      if (!rows.length) return 0;
      await relay(rows);
      await tx`UPDATE webhook_outbox SET relayed_at = now() WHERE id = ANY(${rows.map((r) => r.id)}::uuid[])`;
      return rows.length;
    });
  }

  /** Deletes events relayed more than `olderThanMs` ago; returns how many. */
  async pruneRelayed(olderThanMs: number): Promise<number> {
    const r = await this.sql`DELETE FROM webhook_outbox
      WHERE relayed_at IS NOT NULL AND relayed_at < now() - ${olderThanMs / 1000} * interval '1 second'`;
    return r.count;
  }

  /** Events of one video, oldest first (tests, support). */
  async ofVideo(videoId: string): Promise<OutboxRow[]> {
    return this.sql<OutboxRow[]>`SELECT * FROM webhook_outbox WHERE video_id = ${videoId} ORDER BY created_at, id`;
  }
}
