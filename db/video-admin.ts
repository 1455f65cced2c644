import type { ModerationStatus, Role, VideoStatus } from '../core/types.ts';
import type { TransactionSql } from 'postgres';
import type { Sql } from './client.ts';
import { isUuid, type VideoRow } from './videos.ts';
import { insertVideoEvent, playbackPath } from './video-events.ts';

/** Who did something, for the audit log. */
export interface Actor {
  readonly id: string;
  readonly role: Role;
  /** Request id of the HTTP call, to join audit rows with logs. */
  readonly requestId?: string;
}

export interface AuditRow {
  id: number;
  video_id: string;
  action: 'approved' | 'rejected' | 'edited' | 'deleted' | 'retried' | 'undone' | 'caption_approved' | 'caption_rejected';
  /** The caption's language, on caption decisions only. */
  caption_lang: string | null;
  actor: string;
  actor_role: string;
  notes: string | null;
  from_status: string | null;
  to_status: string | null;
  request_id: string | null;
  created_at: Date;
}

export interface ListFilter {
  /** Only this uploader's videos (forced for uploaders). */
  readonly uploaderId?: string;
  readonly status?: VideoStatus;
  readonly moderation?: ModerationStatus;
  /** Only videos a moderator can watch: ready, or still transcoding with the first segments published. */
  readonly reviewable?: boolean;
  /** Page size; the caller clamps it. */
  readonly limit: number;
  /** Keyset cursor: the last row of the previous page. */
  readonly after?: { readonly createdAt: string; readonly id: string };
  /** Oldest first (moderation queue) instead of newest first. */
  readonly oldestFirst?: boolean;
  /** Only titles containing this text, case-insensitively (plain text: no wildcards). */
  readonly titleContains?: string;
}

/** Why a decision could not be undone (see undoDecision). */
export type UndoRefusal = 'nothing' | 'not-yours' | 'expired';

export interface UndoRequest {
  /** Who asks; only the moderator who took the decision may take it back. */
  readonly actor: Actor;
  /** How long after the decision it may be undone, in ms. */
  readonly windowMs: number;
  /** The API's clock in ms (tests move it). */
  readonly nowMs: number;
}

/** API-side reads and writes of videos: lists, edits, moderation decisions with their audit rows, deletion. */
export class VideoAdminRepository {
  constructor(private readonly sql: Sql) {}

  /** Keyset pagination on (created_at, id): stable under concurrent inserts, unlike OFFSET. */
  async list(f: ListFilter): Promise<Array<VideoRow & { cursor_ts: string }>> {
    const s = this.sql;
    const cmp = f.oldestFirst ? s`>` : s`<`;
    const dir = f.oldestFirst ? s`ASC` : s`DESC`;
    // cursor_ts keeps created_at's microseconds (a JS Date would round them away and break the keyset).
    return s<Array<VideoRow & { cursor_ts: string }>>`
      SELECT *, created_at::text AS cursor_ts FROM videos WHERE true
        ${f.uploaderId !== undefined ? s`AND uploader_id = ${f.uploaderId}` : s``}
        ${f.status ? s`AND status = ${f.status}` : s``}
        ${f.moderation ? s`AND moderation_status = ${f.moderation}` : s``}
        ${f.reviewable ? s`AND (status = 'ready' OR (status = 'processing' AND previewable_at IS NOT NULL))` : s``}
        ${f.titleContains ? s`AND strpos(lower(title), lower(${f.titleContains})) > 0` : s``}
        ${f.after ? s`AND (created_at, id) ${cmp} (${f.after.createdAt}::timestamptz, ${f.after.id}::uuid)` : s``}
      ORDER BY created_at ${dir}, id ${dir}
      LIMIT ${f.limit}`;
  }

  /**
   * Edits title and description. Both are shown to children, so an edit that changes an approved video's text takes
   * the approval away: the video goes back to the queue (pending, which revokes its playback URLs, see migration
   * 0015) and a video.returned_to_review event tells receivers. A rejected video stays rejected: an edit is not an
   * appeal. A pending one simply waits with its new text. An edit that changes nothing changes no status.
   */
  async updateMeta(id: string, patch: { title?: string; description?: string }, actor: Actor): Promise<VideoRow | undefined> {
    if (!isUuid(id)) return undefined;
    return this.sql.begin(async (tx) => {
      const [cur] = await tx<VideoRow[]>`SELECT * FROM videos WHERE id = ${id} FOR UPDATE`;
      if (!cur) return undefined;
      const changed =
        (patch.title !== undefined && patch.title !== cur.title) ||
        (patch.description !== undefined && patch.description !== cur.description);
      const review = changed && cur.moderation_status === 'approved';
      const [row] = await tx<VideoRow[]>`UPDATE videos SET title = COALESCE(${patch.title ?? null}, title),
        description = COALESCE(${patch.description ?? null}, description), updated_at = now()
        ${review ? tx`, moderation_status = 'pending', moderation_notes = NULL, moderated_by = NULL, moderated_at = NULL` : tx``}
        WHERE id = ${id} RETURNING *`;
      const notes = review ? 'text changed after approval: back to review' : null;
      await this.audit(tx, id, 'edited', actor, notes, cur.moderation_status, row!.moderation_status);
      if (review)
        await insertVideoEvent(tx, 'video.returned_to_review', row!, { reason: 'edited', previousDecision: 'approved', by: actor.id });
      return row;
    });
  }

  /**
   * Takes back the video's latest decision: the video returns to the queue (pending), never to an earlier decision,
   * so an undo can only narrow who sees the video. Allowed only to the moderator who decided, within the window, and
   * only while that decision is still the video's latest audited change. Audited as 'undone' and announced as
   * video.returned_to_review, in the same transaction; leaving 'approved' bumps the access epoch (migration 0015).
   */
  async undoDecision(id: string, r: UndoRequest): Promise<{ video: VideoRow; refused?: UndoRefusal } | undefined> {
    if (!isUuid(id)) return undefined;
    return this.sql.begin(async (tx) => {
      const [cur] = await tx<VideoRow[]>`SELECT * FROM videos WHERE id = ${id} FOR UPDATE`;
      if (!cur) return undefined;
      // Caption decisions are audited here too but are not changes of the video's own decision.
      const [last] = await tx<AuditRow[]>`SELECT * FROM moderation_audit WHERE video_id = ${id} AND caption_lang IS NULL
        ORDER BY id DESC LIMIT 1`;
      const decision = last?.action === 'approved' || last?.action === 'rejected' ? last.action : undefined;
      if (!last || !decision || cur.moderation_status !== decision) return { video: cur, refused: 'nothing' };
      if (last.actor !== r.actor.id) return { video: cur, refused: 'not-yours' };
      if (r.nowMs > last.created_at.getTime() + r.windowMs) return { video: cur, refused: 'expired' };
      const [row] = await tx<VideoRow[]>`UPDATE videos SET moderation_status = 'pending', moderation_notes = NULL,
        moderated_by = NULL, moderated_at = NULL, updated_at = now() WHERE id = ${id} RETURNING *`;
      await this.audit(tx, id, 'undone', r.actor, `undid ${decision}`, decision, 'pending');
      await insertVideoEvent(tx, 'video.returned_to_review', row!, { reason: 'undo', previousDecision: decision, by: r.actor.id });
      return { video: row! };
    });
  }

  /**
   * Records a moderation decision, its audit row and its video.approved / video.rejected webhook event in one
   * transaction. Returns undefined when the video is missing, or the row unchanged with `notReady` when it has not
   * finished processing.
   */
  async moderate(
    id: string,
    decision: 'approved' | 'rejected',
    notes: string | null,
    actor: Actor,
  ): Promise<{ video: VideoRow; notReady: boolean } | undefined> {
    if (!isUuid(id)) return undefined;
    return this.sql.begin(async (tx) => {
      const [cur] = await tx<VideoRow[]>`SELECT * FROM videos WHERE id = ${id} FOR UPDATE`;
      if (!cur) return undefined;
      // Approval opens playback to everyone, so it waits for the finished package; a rejection may come at any time,
      // and matters most for content that is obviously bad while it is still being transcoded.
      if (decision === 'approved' && cur.status !== 'ready') return { video: cur, notReady: true };
      const [row] = await tx<VideoRow[]>`UPDATE videos SET moderation_status = ${decision}, moderation_notes = ${notes},
        moderated_by = ${actor.id}, moderated_at = now(), updated_at = now() WHERE id = ${id} RETURNING *`;
      await this.audit(tx, id, decision, actor, notes, cur.moderation_status, decision);
      await insertVideoEvent(tx, decision === 'approved' ? 'video.approved' : 'video.rejected', row!, {
        title: row!.title,
        moderatedBy: row!.moderated_by,
        notes: row!.moderation_notes,
        // Approval is what opens playback to viewers: the receiver learns where to ask for it.
        ...(decision === 'approved' ? { playback: { path: playbackPath(id) } } : {}),
      });
      return { video: row!, notReady: false };
    });
  }

  /**
   * Puts a `failed` video back to `uploaded` for a new job: error, wait and stale preview cleared (the new job
   * republishes from scratch), with an audit row naming the error it had. Returns undefined when the video is
   * missing, or the row unchanged with `notFailed` when it is not in `failed`; the status is checked under the row
   * lock, so two retries at once reset it only once.
   */
  async resetForRetry(id: string, actor: Actor, notes: string | null): Promise<{ video: VideoRow; notFailed: boolean } | undefined> {
    if (!isUuid(id)) return undefined;
    return this.sql.begin(async (tx) => {
      const [cur] = await tx<VideoRow[]>`SELECT * FROM videos WHERE id = ${id} FOR UPDATE`;
      if (!cur) return undefined;
      if (cur.status !== 'failed') return { video: cur, notFailed: true };
      const [row] = await tx<VideoRow[]>`UPDATE videos SET status = 'uploaded', stage = NULL, progress = 0, error_code = NULL,
        error_message = NULL, waiting_for = NULL, waiting_since = NULL, previewable_at = NULL, hls_prefix = NULL,
        master_key = NULL, updated_at = now() WHERE id = ${id} RETURNING *`;
      const why = `after ${cur.error_code ?? 'an unknown error'}${notes ? `: ${notes}` : ''}`;
      await this.audit(tx, id, 'retried', actor, why, cur.moderation_status, cur.moderation_status);
      return { video: row!, notFailed: false };
    });
  }

  /** Deletes the row (renditions cascade), leaves an audit row and stores the video.deleted event; returns the deleted row. */
  async delete(id: string, actor: Actor): Promise<VideoRow | undefined> {
    if (!isUuid(id)) return undefined;
    return this.sql.begin(async (tx) => {
      const [row] = await tx<VideoRow[]>`DELETE FROM videos WHERE id = ${id} RETURNING *`;
      if (row) {
        await this.audit(tx, id, 'deleted', actor, null, row.moderation_status, null);
        await insertVideoEvent(tx, 'video.deleted', row, { deletedBy: actor.id });
      }
      return row;
    });
  }

  async auditLog(videoId: string): Promise<AuditRow[]> {
    if (!isUuid(videoId)) return [];
    return this.sql<AuditRow[]>`SELECT * FROM moderation_audit WHERE video_id = ${videoId} ORDER BY id`;
  }

  private async audit(
    tx: TransactionSql,
    videoId: string,
    action: AuditRow['action'],
    actor: Actor,
    notes: string | null,
    from: string | null,
    to: string | null,
  ): Promise<void> {
    await tx`INSERT INTO moderation_audit (video_id, action, actor, actor_role, notes, from_status, to_status, request_id)
      VALUES (${videoId}, ${action}, ${actor.id}, ${actor.role}, ${notes}, ${from}, ${to}, ${actor.requestId ?? null})`;
  }
}
