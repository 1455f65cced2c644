import type { Sql } from './client.ts';

/** One video's roll-up for one UTC day (migration 0016): counts and sums, so rows add up across days and videos. */
export interface DayRollup {
  readonly videoId: string;
  /** YYYY-MM-DD (UTC). */
  readonly day: string;
  readonly sessions: number;
  readonly views: number;
  readonly completed: number;
  readonly watchSec: number;
  /** Sessions whose duration is known: the denominator of the retention curve. */
  readonly retentionBase: number;
  /** Sessions that watched each 5 % slice (20 entries). */
  readonly retention: readonly number[];
  readonly startupCount: number;
  readonly startupP50Ms: number | null;
  readonly startupP95Ms: number | null;
  readonly startupHist: readonly number[];
  readonly stallSec: number;
  readonly stalls: number;
  /** Σ bitrate × seconds played at it; ÷ watchSec = average delivered bitrate. */
  readonly bitrateSec: number;
  /** Seconds played per rung ("360p", "audio"). */
  readonly rungs: Readonly<Record<string, number>>;
  readonly qualitySwitches: number;
  readonly seeks: number;
  readonly errors: number;
  /** Sessions that hit a fatal error. */
  readonly errorSessions: number;
  /** Every raw event received up to this instant is counted. */
  readonly coveredUntil: Date;
}

/** The raw events of one beacon: one video, one session. */
export interface RawBatch {
  readonly videoId: string;
  readonly day: string;
  readonly session: Buffer;
  readonly events: ReadonlyArray<{ seq: number; kind: string; atMs: number; data: Readonly<Record<string, unknown>> }>;
}

export interface RawEventRow {
  session: Buffer;
  seq: number;
  kind: string;
  at_ms: number;
  data: Record<string, unknown>;
  received_at: Date;
}

/** Which rows a read covers: some videos (or all) and an inclusive day range. */
export interface RollupFilter {
  readonly videoIds?: readonly string[];
  readonly from: string;
  readonly to: string;
}

interface RollupDbRow {
  video_id: string;
  day: string;
  sessions: number;
  views: number;
  completed: number;
  watch_sec: number;
  retention_base: number;
  retention: number[];
  startup_count: number;
  startup_p50_ms: number | null;
  startup_p95_ms: number | null;
  startup_hist: number[];
  stall_sec: number;
  stalls: number;
  bitrate_sec: number;
  rungs: Record<string, number>;
  quality_switches: number;
  seeks: number;
  errors: number;
  error_sessions: number;
  covered_until: Date;
}

const fromDb = (r: RollupDbRow): DayRollup => ({
  videoId: r.video_id,
  day: r.day,
  sessions: r.sessions,
  views: r.views,
  completed: r.completed,
  watchSec: r.watch_sec,
  retentionBase: r.retention_base,
  retention: r.retention,
  startupCount: r.startup_count,
  startupP50Ms: r.startup_p50_ms,
  startupP95Ms: r.startup_p95_ms,
  startupHist: r.startup_hist,
  stallSec: r.stall_sec,
  stalls: r.stalls,
  bitrateSec: r.bitrate_sec,
  rungs: r.rungs,
  qualitySwitches: r.quality_switches,
  seeks: r.seeks,
  errors: r.errors,
  errorSessions: r.error_sessions,
  coveredUntil: r.covered_until,
});

/** Raw analytics events and their daily roll-ups. */
export class AnalyticsRepository {
  constructor(private readonly sql: Sql) {}

  /** Several beacons' events in one statement (one transaction): every column as an array. */
  async insert(batches: readonly RawBatch[]): Promise<void> {
    const rows = batches.flatMap((b) => b.events.map((e) => ({ b, e })));
    if (!rows.length) return;
    await this.sql`INSERT INTO analytics_events (video_id, day, session, seq, kind, at_ms, data)
      SELECT u.video_id::uuid, u.day::date, decode(u.session, 'hex'), u.seq, u.kind, u.at_ms, u.data::jsonb
      FROM unnest(${rows.map((r) => r.b.videoId)}::text[], ${rows.map((r) => r.b.day)}::text[],
                  ${rows.map((r) => r.b.session.toString('hex'))}::text[], ${rows.map((r) => r.e.seq)}::int[],
                  ${rows.map((r) => r.e.kind)}::text[], ${rows.map((r) => r.e.atMs)}::int[],
                  ${rows.map((r) => JSON.stringify(r.e.data))}::text[]) AS u(video_id, day, session, seq, kind, at_ms, data)`;
  }

  /**
   * (video, day) pairs with raw events newer than their roll-up (or none yet), of videos that still exist. Without
   * videoIds, every video: one pass over the raw table (bounded by its retention).
   */
  async staleDays(videoIds: readonly string[] | undefined): Promise<Array<{ videoId: string; day: string }>> {
    const rows = await this.sql<Array<{ video_id: string; day: string }>>`
      SELECT e.video_id, e.day::text AS day FROM analytics_events e
      JOIN videos v ON v.id = e.video_id
      LEFT JOIN video_analytics a ON a.video_id = e.video_id AND a.day = e.day
      ${videoIds ? this.sql`WHERE e.video_id = ANY(${[...videoIds]}::uuid[])` : this.sql``}
      GROUP BY e.video_id, e.day, a.covered_until
      HAVING a.covered_until IS NULL OR max(e.received_at) > a.covered_until`;
    return rows.map((r) => ({ videoId: r.video_id, day: r.day }));
  }

  /**
   * Every raw event of a video's day, and the instant they cover: one second before the read began. A beacon is one
   * short INSERT, so anything received (its transaction started) a second before this read has committed and is in the
   * answer; later arrivals leave the day stale and are counted by the next roll-up.
   */
  async dayEvents(videoId: string, day: string): Promise<{ rows: RawEventRow[]; coveredUntil: Date }> {
    return this.sql.begin('isolation level repeatable read', async (tx) => {
      const [cut] = await tx<Array<{ t: Date }>>`SELECT clock_timestamp() - interval '1 second' AS t`;
      const rows = await tx<RawEventRow[]>`SELECT session, seq, kind, at_ms, data, received_at FROM analytics_events
        WHERE video_id = ${videoId} AND day = ${day}::date`;
      return { rows, coveredUntil: cut!.t };
    });
  }

  /** Stores a roll-up unless a newer one is already there (concurrent roll-ups), or the video is gone. */
  async upsert(r: DayRollup): Promise<void> {
    const s = this.sql;
    await s`INSERT INTO video_analytics (video_id, day, sessions, views, completed, watch_sec, retention_base, retention,
        startup_count, startup_p50_ms, startup_p95_ms, startup_hist, stall_sec, stalls, bitrate_sec, rungs,
        quality_switches, seeks, errors, error_sessions, covered_until)
      SELECT ${r.videoId}::uuid, ${r.day}::date, ${r.sessions}, ${r.views}, ${r.completed}, ${r.watchSec},
        ${r.retentionBase}, ${[...r.retention]}::int[], ${r.startupCount}, ${r.startupP50Ms}, ${r.startupP95Ms},
        ${[...r.startupHist]}::int[], ${r.stallSec}, ${r.stalls}, ${r.bitrateSec}, ${s.json({ ...r.rungs })},
        ${r.qualitySwitches}, ${r.seeks}, ${r.errors}, ${r.errorSessions}, ${r.coveredUntil}
      WHERE EXISTS (SELECT 1 FROM videos WHERE id = ${r.videoId}::uuid)
      ON CONFLICT (video_id, day) DO UPDATE SET sessions = EXCLUDED.sessions, views = EXCLUDED.views,
        completed = EXCLUDED.completed, watch_sec = EXCLUDED.watch_sec, retention_base = EXCLUDED.retention_base,
        retention = EXCLUDED.retention, startup_count = EXCLUDED.startup_count, startup_p50_ms = EXCLUDED.startup_p50_ms,
        startup_p95_ms = EXCLUDED.startup_p95_ms, startup_hist = EXCLUDED.startup_hist, stall_sec = EXCLUDED.stall_sec,
        stalls = EXCLUDED.stalls, bitrate_sec = EXCLUDED.bitrate_sec, rungs = EXCLUDED.rungs,
        quality_switches = EXCLUDED.quality_switches, seeks = EXCLUDED.seeks, errors = EXCLUDED.errors,
        error_sessions = EXCLUDED.error_sessions, covered_until = EXCLUDED.covered_until
      WHERE video_analytics.covered_until <= EXCLUDED.covered_until`;
  }

  /** Roll-up rows in the filter, by video then day. */
  async rows(f: RollupFilter): Promise<DayRollup[]> {
    const rows = await this.sql<RollupDbRow[]>`SELECT video_id, day::text AS day, sessions, views, completed, watch_sec,
        retention_base, retention, startup_count, startup_p50_ms, startup_p95_ms, startup_hist, stall_sec, stalls,
        bitrate_sec, rungs, quality_switches, seeks, errors, error_sessions, covered_until FROM video_analytics
      WHERE day BETWEEN ${f.from}::date AND ${f.to}::date
      ${f.videoIds ? this.sql`AND video_id = ANY(${[...f.videoIds]}::uuid[])` : this.sql``}
      ORDER BY video_id, video_analytics.day`;
    return rows.map(fromDb);
  }

  /** Ids of an uploader's videos (a family has few). */
  async videosOf(uploaderId: string): Promise<string[]> {
    return (await this.sql<Array<{ id: string }>>`SELECT id FROM videos WHERE uploader_id = ${uploaderId}`).map((r) => r.id);
  }

  /** Deletes raw events of days before `beforeDay`; returns how many. */
  async expireRaw(beforeDay: string): Promise<number> {
    const r = await this.sql`DELETE FROM analytics_events WHERE day < ${beforeDay}::date`;
    return r.count;
  }
}
