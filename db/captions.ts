import type { ModerationStatus } from '../core/types.ts';
import type { Sql } from './client.ts';

/** A caption track as stored (migration 0017), without its text. */
export interface CaptionRow {
  id: string;
  video_id: string;
  lang: string;
  label: string;
  source_format: 'vtt' | 'srt';
  cue_count: number;
  status: ModerationStatus;
  notes: string | null;
  uploaded_by: string;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewCaption {
  readonly videoId: string;
  readonly lang: string;
  readonly label: string;
  readonly format: 'vtt' | 'srt';
  /** The vetted, re-serialised WebVTT. */
  readonly vtt: string;
  readonly cueCount: number;
  readonly uploadedBy: string;
}

const COLUMNS =
  'id, video_id, lang, label, source_format, cue_count, status, notes, uploaded_by, decided_by, decided_at, created_at, updated_at';

/** Data access for caption tracks. Callers never build SQL. */
export class CaptionRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Stores a caption for (video, language). A new upload for a language that already has one replaces it and goes back
   * to pending in the same statement: an approval covers the text the moderator saw, never a later one.
   */
  async put(c: NewCaption): Promise<CaptionRow> {
    const [row] = await this.sql<CaptionRow[]>`
      INSERT INTO video_captions (video_id, lang, label, source_format, vtt, cue_count, uploaded_by)
      VALUES (${c.videoId}, ${c.lang}, ${c.label}, ${c.format}, ${c.vtt}, ${c.cueCount}, ${c.uploadedBy})
      ON CONFLICT (video_id, lang) DO UPDATE SET label = EXCLUDED.label, source_format = EXCLUDED.source_format,
        vtt = EXCLUDED.vtt, cue_count = EXCLUDED.cue_count, uploaded_by = EXCLUDED.uploaded_by, status = 'pending',
        notes = NULL, decided_by = NULL, decided_at = NULL, updated_at = now()
      RETURNING ${this.sql.unsafe(COLUMNS)}`;
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    return row;
  }

  /** A video's captions by language, whatever their status. */
  async list(videoId: string): Promise<CaptionRow[]> {
    return this.sql<CaptionRow[]>`SELECT ${this.sql.unsafe(COLUMNS)} FROM video_captions WHERE video_id = ${videoId} ORDER BY lang`;
  }

  /** A video's captions in one of `statuses` (what an audience may see), by language. */
  async withStatus(videoId: string, statuses: readonly ModerationStatus[]): Promise<CaptionRow[]> {
    return this.sql<CaptionRow[]>`
      SELECT ${this.sql.unsafe(COLUMNS)} FROM video_captions
      WHERE video_id = ${videoId} AND status = ANY(${statuses as ModerationStatus[]}::text[]) ORDER BY lang`;
  }

  async get(videoId: string, lang: string): Promise<(CaptionRow & { vtt: string }) | undefined> {
    const [row] = await this.sql<Array<CaptionRow & { vtt: string }>>`
      SELECT ${this.sql.unsafe(COLUMNS)}, vtt FROM video_captions WHERE video_id = ${videoId} AND lang = ${lang}`;
    return row;
  }

  /**
   * Records a moderator's decision and its row in the append-only moderation audit, in one transaction; undefined when
   * there is no such caption.
   */
  async decide(
    videoId: string,
    lang: string,
    status: 'approved' | 'rejected',
    notes: string | null,
    actor: { readonly id: string; readonly role: string; readonly requestId?: string },
  ): Promise<CaptionRow | undefined> {
    return this.sql.begin(async (tx) => {
      const [before] = await tx<{ status: string }[]>`SELECT status FROM video_captions
        WHERE video_id = ${videoId} AND lang = ${lang} FOR UPDATE`;
      if (!before) return undefined;
      const [row] = await tx<CaptionRow[]>`
        UPDATE video_captions SET status = ${status}, notes = ${notes}, decided_by = ${actor.id}, decided_at = now(), updated_at = now()
        WHERE video_id = ${videoId} AND lang = ${lang} RETURNING ${tx.unsafe(COLUMNS)}`;
      await tx`INSERT INTO moderation_audit (video_id, action, caption_lang, actor, actor_role, notes, from_status, to_status, request_id)
        VALUES (${videoId}, ${`caption_${status}`}, ${lang}, ${actor.id}, ${actor.role}, ${notes}, ${before.status}, ${status},
          ${actor.requestId ?? null})`;
      return row;
    });
  }

  async delete(videoId: string, lang: string): Promise<boolean> {
    const rows = await this.sql`DELETE FROM video_captions WHERE video_id = ${videoId} AND lang = ${lang} RETURNING id`;
    return rows.length > 0;
  }

  /** Pending captions, oldest upload first (the moderators' caption queue). */
  async pending(limit: number): Promise<Array<CaptionRow & { video_title: string }>> {
    return this.sql<Array<CaptionRow & { video_title: string }>>`
      SELECT c.id, c.video_id, c.lang, c.label, c.source_format, c.cue_count, c.status, c.notes, c.uploaded_by, c.decided_by,
        c.decided_at, c.created_at, c.updated_at, v.title AS video_title
      FROM video_captions c JOIN videos v ON v.id = c.video_id
      WHERE c.status = 'pending' ORDER BY c.updated_at, c.id LIMIT ${limit}`;
  }
}
