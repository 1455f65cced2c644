/**
 * The one list of every table that holds data about a user, read by the export (GET /api/me/export), the erasure
 * (DELETE /api/me) and the retention sweep. A table that is not listed here is neither exported nor erased: the
 * erasure test scans every column of every table of the database for the erased ids, so a new table holding user or
 * video ids fails it until it is listed. Files are listed beside the stores that hold them (pipeline/erasure.ts).
 */

/** How a column names a user: their id, the id of one of their videos, or a key into another listed table. */
export type Match =
  /** The column (or a text field inside a jsonb column, at `jsonPath`) holds the user id. */
  | { readonly column: string; readonly holds: 'user'; readonly jsonPath?: readonly string[] }
  /** The column holds a video id (uuid or text) of one of the user's videos. */
  | { readonly column: string; readonly holds: 'video' }
  /** The column holds a value of `of.column` in rows of `of.table` that match `of.where`. */
  | {
      readonly column: string;
      readonly holds: 'key';
      readonly of: { readonly table: string; readonly column: string; readonly where: readonly Match[] };
    };

/** Retention settings a table's old rows are deleted by (days; config RETENTION_*_DAYS). */
export type RetentionSetting = 'webhookLog' | 'analyticsEvents';

export interface PersonalTable {
  readonly table: string;
  /** A row is about the user when any of these matches. */
  readonly match: readonly Match[];
  /**
   * On erasure: delete the rows; `pseudonymise-audit` (moderation_audit only, see migration 0018); or replace one
   * column naming the user with their pseudonym (rows about other people that the user acted on, kept).
   */
  readonly erase: 'delete' | 'pseudonymise-audit' | { readonly replaceWithPseudonym: string; readonly jsonPath?: readonly string[] };
  /**
   * Columns whose values, when the row matched on the user, are ids of their videos: the erasure collects them (with
   * those of videos already deleted) before anything is removed. `jsonPath` reads a text field of a jsonb column.
   */
  readonly videoIds?: { readonly column: string; readonly jsonPath?: readonly string[]; readonly when?: Readonly<Record<string, string>> };
  /** Removes other people's data from an exported row (staff identities: see docs/runbook.md "Personal data"). */
  readonly redactExport?: (row: Record<string, unknown>, userId: string) => Record<string, unknown>;
  /** Rows older than the setting (by `column`) are deleted by the retention sweep, whoever they are about. */
  readonly retention?: { readonly column: string; readonly setting: RetentionSetting };
  /** Left out of the export (still erased): rows that hold nothing but the links to the others. */
  readonly exportable?: false;
}

const byVideo = (column = 'video_id'): Match => ({ column, holds: 'video' });

/** Staff who acted on the user's videos are other people: the export names their role, not who they are. */
function withoutStaff(row: Record<string, unknown>, userId: string): Record<string, unknown> {
  const out = { ...row };
  if ('actor' in out && out['actor'] !== userId) out['actor'] = `(${String(out['actor_role'])})`;
  if ('moderated_by' in out && out['moderated_by'] !== null && out['moderated_by'] !== userId) out['moderated_by'] = '(moderator)';
  const data = out['data'];
  if (data && typeof data === 'object' && 'moderatedBy' in data && typeof data.moderatedBy === 'string' && data.moderatedBy !== userId) {
    out['data'] = { ...data, moderatedBy: '(moderator)' };
  }
  return out;
}

/** A caption on the user's video may have been added or judged by staff: their role, not who they are. */
function captionWithoutStaff(row: Record<string, unknown>, userId: string): Record<string, unknown> {
  const out = { ...row };
  if (out['uploaded_by'] !== userId) out['uploaded_by'] = '(moderator)';
  if (out['decided_by'] !== null && out['decided_by'] !== undefined && out['decided_by'] !== userId) out['decided_by'] = '(moderator)';
  return out;
}

const OUTBOX_OF_USER: readonly Match[] = [byVideo(), { column: 'data', holds: 'user', jsonPath: ['video', 'uploaderId'] }];

/**
 * Every table holding user data, in erasure order (rows that point into a later table go first). The videos row itself
 * is removed by the video deletion (files first, then the row, its audit row and its video.deleted event); listing it
 * here exports it and erases any row that appeared meanwhile.
 */
export const PERSONAL_TABLES: readonly PersonalTable[] = [
  {
    table: 'videos',
    match: [{ column: 'uploader_id', holds: 'user' }],
    erase: 'delete',
    videoIds: { column: 'id' },
    redactExport: withoutStaff,
  },
  // A staff account's erasure: the videos they judged belong to others and stay, their name on them does not.
  {
    table: 'videos',
    match: [{ column: 'moderated_by', holds: 'user' }],
    erase: { replaceWithPseudonym: 'moderated_by' },
    exportable: false,
  },
  { table: 'renditions', match: [byVideo()], erase: 'delete' },
  {
    table: 'webhook_deliveries',
    match: [{ column: 'event_id', holds: 'key', of: { table: 'webhook_outbox', column: 'id', where: OUTBOX_OF_USER } }],
    erase: 'delete',
    retention: { column: 'created_at', setting: 'webhookLog' },
  },
  {
    table: 'webhook_outbox',
    match: OUTBOX_OF_USER,
    erase: 'delete',
    videoIds: { column: 'video_id' },
    redactExport: withoutStaff,
    retention: { column: 'relayed_at', setting: 'webhookLog' },
  },
  // Events about other people's videos that a staff account judged: kept for their receivers, without the name.
  {
    table: 'webhook_outbox',
    match: [{ column: 'data', holds: 'user', jsonPath: ['moderatedBy'] }],
    erase: { replaceWithPseudonym: 'data', jsonPath: ['moderatedBy'] },
    exportable: false,
  },
  {
    table: 'upload_finishes',
    match: [
      byVideo(),
      {
        column: 'upload_id',
        holds: 'key',
        of: { table: 'upload_quota_entries', column: 'upload_id', where: [{ column: 'uploader', holds: 'user' }] },
      },
    ],
    erase: 'delete',
  },
  {
    table: 'upload_quota_entries',
    match: [{ column: 'uploader', holds: 'user' }, byVideo()],
    erase: 'delete',
    videoIds: { column: 'video_id' },
  },
  { table: 'video_captions', match: [byVideo()], erase: 'delete', redactExport: captionWithoutStaff },
  // A staff account's erasure: captions it added to or judged on other people's videos stay, without its name.
  {
    table: 'video_captions',
    match: [{ column: 'uploaded_by', holds: 'user' }],
    erase: { replaceWithPseudonym: 'uploaded_by' },
    exportable: false,
  },
  {
    table: 'video_captions',
    match: [{ column: 'decided_by', holds: 'user' }],
    erase: { replaceWithPseudonym: 'decided_by' },
    exportable: false,
  },
  // Daily roll-ups of how the user's videos were watched: theirs to see, erased with the videos.
  { table: 'video_analytics', match: [byVideo()], erase: 'delete' },
  // Raw viewing events of the user's videos: exported without the viewers' (daily, salted) session hashes, which are
  // other people's data. The analytics expiry rolls them up and deletes them after ANALYTICS_RAW_RETENTION_DAYS;
  // this retention is the backstop.
  {
    table: 'analytics_events',
    match: [byVideo()],
    erase: 'delete',
    redactExport: ({ session: _session, ...row }) => row,
    retention: { column: 'received_at', setting: 'analyticsEvents' },
  },
  {
    table: 'moderation_audit',
    match: [byVideo(), { column: 'actor', holds: 'user' }],
    erase: 'pseudonymise-audit',
    // Only what the user did as an uploader is about their videos; a staff account's actions are about others'.
    videoIds: { column: 'video_id', when: { actor_role: 'uploader' } },
    redactExport: withoutStaff,
  },
];
