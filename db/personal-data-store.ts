import type { Fragment, TransactionSql } from 'postgres';
import type { Sql } from './client.ts';
import { PERSONAL_TABLES, type Match, type PersonalTable, type RetentionSetting } from './personal-data.ts';

/** Who the rows are about: the user and every video id ever theirs (see videoIdsOf). */
export interface Subject {
  readonly userId: string;
  readonly videoIds: readonly string[];
}

/** Keyed pseudonyms of the ids the audit keeps (core/pseudonym.ts). */
export interface Pseudonyms {
  /** `erased:<hex>` for a user id (the audit's trigger accepts no other new actor). */
  user(id: string): string;
  /** A uuid for a video id, the same for every row of one video, so its history stays one history. */
  video(id: string): string;
}

type AnySql = Sql | TransactionSql;

function matchSql(sql: AnySql, m: Match, s: Subject): Fragment {
  const col = sql(m.column);
  switch (m.holds) {
    case 'user':
      return m.jsonPath ? sql`${col} #>> ${sql.array([...m.jsonPath])} = ${s.userId}` : sql`${col} = ${s.userId}`;
    case 'video':
      return sql`${col}::text = ANY(${sql.array([...s.videoIds])}::text[])`;
    case 'key':
      return sql`${col} IN (SELECT ${sql(m.of.column)} FROM ${sql(m.of.table)} WHERE ${anyOf(sql, m.of.where, s)})`;
  }
}

function anyOf(sql: AnySql, ms: readonly Match[], s: Subject): Fragment {
  const parts = ms.map((m) => matchSql(sql, m, s));
  return parts.slice(1).reduce((a, b) => sql`${a} OR ${b}`, parts[0] ?? sql`false`);
}

/** Export, erasure and retention of the tables listed in db/personal-data.ts. */
export class PersonalDataStore {
  constructor(
    private readonly sql: Sql,
    private readonly tables: readonly PersonalTable[] = PERSONAL_TABLES,
  ) {}

  /**
   * Every video id the user is linked to: their videos, and those already deleted that rows still name (audit, outbox,
   * quota entries). Collected before anything is removed, as the videos rows are the best link and go first.
   */
  async videoIdsOf(userId: string): Promise<string[]> {
    const ids = new Set<string>();
    const sql = this.sql;
    for (const t of this.tables) {
      if (!t.videoIds) continue;
      const v = t.videoIds;
      const userMatches = t.match.filter((m) => m.holds === 'user');
      if (!userMatches.length) continue;
      const value = v.jsonPath ? sql`${sql(v.column)} #>> ${sql.array([...v.jsonPath])}` : sql`${sql(v.column)}::text`;
      const when = Object.entries(v.when ?? {}).reduce((a, [k, val]) => sql`${a} AND ${sql(k)} = ${val}`, sql``);
      const rows = await sql<{ id: string | null }[]>`SELECT DISTINCT ${value} AS id FROM ${sql(t.table)}
        WHERE (${anyOf(sql, userMatches, { userId, videoIds: [] })}) ${when}`;
      for (const r of rows) if (r.id) ids.add(r.id);
    }
    return [...ids].sort();
  }

  /** The user's rows table by table, read with a cursor so a large history is never held in memory. */
  async *exportRows(s: Subject): AsyncGenerator<{ table: string; rows: Record<string, unknown>[] }> {
    const sql = this.sql;
    for (const t of this.tables) {
      if (t.exportable === false) continue;
      // Every listed table appears, with no rows too: the reader sees what was looked at, not only what was found.
      yield { table: t.table, rows: [] };
      const cursor = sql<Record<string, unknown>[]>`SELECT * FROM ${sql(t.table)} WHERE ${anyOf(sql, t.match, s)}`.cursor(100);
      for await (const rows of cursor) {
        yield { table: t.table, rows: rows.map((r) => (t.redactExport ? t.redactExport(r, s.userId) : r)) };
      }
    }
  }

  /** Deletes or pseudonymises every listed row about the subject in one transaction; returns rows touched per table. */
  async erase(s: Subject, p: Pseudonyms): Promise<Record<string, number>> {
    return this.sql.begin(async (tx) => {
      const counts: Record<string, number> = {};
      for (const t of this.tables) {
        const n = await this.eraseTable(tx, t, s, p);
        counts[t.table] = (counts[t.table] ?? 0) + n;
      }
      return counts;
    });
  }

  private async eraseTable(tx: TransactionSql, t: PersonalTable, s: Subject, p: Pseudonyms): Promise<number> {
    const where = anyOf(tx, t.match, s);
    if (t.erase === 'delete') return (await tx`DELETE FROM ${tx(t.table)} WHERE ${where}`).count;
    if (t.erase === 'pseudonymise-audit') return this.pseudonymiseAudit(tx, t, s, p);
    const col = tx(t.erase.replaceWithPseudonym);
    const pseudonym = p.user(s.userId);
    const value = t.erase.jsonPath
      ? tx`jsonb_set(${col}, ${tx.array([...t.erase.jsonPath])}, to_jsonb(${pseudonym}::text))`
      : tx`${pseudonym}`;
    return (await tx`UPDATE ${tx(t.table)} SET ${col} = ${value} WHERE ${where}`).count;
  }

  /**
   * The audit keeps each decision and loses the person (migration 0018): the video id of their videos becomes its
   * pseudonym and the notes about them go, the user as actor becomes their pseudonym, the request id goes. Staff who
   * acted on the user's videos stay: their accountability is the audit's purpose. A staff account's own erasure keeps
   * its notes on other people's videos: they are about those videos, not about the staff member.
   */
  private async pseudonymiseAudit(tx: TransactionSql, t: PersonalTable, s: Subject, p: Pseudonyms): Promise<number> {
    const rows = await tx<{ id: number; video_id: string; actor: string }[]>`SELECT id, video_id::text, actor FROM ${tx(t.table)}
      WHERE ${anyOf(tx, t.match, s)} FOR UPDATE`;
    const erasedActor = p.user(s.userId);
    for (const r of rows) {
      const theirs = s.videoIds.includes(r.video_id);
      await tx`UPDATE ${tx(t.table)} SET video_id = ${theirs ? p.video(r.video_id) : r.video_id}::uuid,
        actor = ${r.actor === s.userId ? erasedActor : r.actor}, notes = ${theirs ? tx`NULL` : tx`notes`}, request_id = NULL,
        pseudonymised_at = now() WHERE id = ${r.id}`;
    }
    return rows.length;
  }

  /**
   * Values of `column` in the rows of `table` the erasure deletes (e.g. the outbox event ids, whose queued deliveries
   * are removed before the rows go).
   */
  async keysOf(table: string, column: string, s: Subject): Promise<string[]> {
    const sql = this.sql;
    const out = new Set<string>();
    for (const t of this.tables.filter((x) => x.table === table && x.erase === 'delete')) {
      const rows = await sql<{ k: string }[]>`SELECT ${sql(column)}::text AS k FROM ${sql(table)} WHERE ${anyOf(sql, t.match, s)}`;
      for (const r of rows) out.add(r.k);
    }
    return [...out];
  }

  /** Upload ids of the user's quota entries: their tus files are named after them. */
  async uploadIdsOf(userId: string): Promise<string[]> {
    const rows = await this.sql<{ upload_id: string }[]>`SELECT upload_id FROM upload_quota_entries WHERE uploader = ${userId}`;
    return rows.map((r) => r.upload_id);
  }

  /** Deletes rows past their retention (days per setting; a setting absent or 0 keeps rows). Returns rows per table. */
  async sweepRetention(days: Readonly<Partial<Record<RetentionSetting, number>>>): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of this.tables) {
      const d = t.retention && days[t.retention.setting];
      if (!t.retention || !d) continue;
      const r = await this.sql`DELETE FROM ${this.sql(t.table)}
        WHERE ${this.sql(t.retention.column)} < now() - ${d} * interval '1 day'`;
      out[t.table] = r.count;
    }
    return out;
  }
}
