import { PipelineError } from '../../core/errors.ts';
import type { AnalyticsRepository, DayRollup } from '../../db/analytics.ts';
import { BeaconEvent, dataOf, MAX_EVENTS, type BeaconBody } from './beacon.ts';
import { rollupDay, type StoredEvent } from './rollup.ts';
import type { AnalyticsSessions } from './session-token.ts';
import { SessionLimit } from './session-limit.ts';
import { BeaconWriter } from './writer.ts';

export interface AnalyticsOptions {
  readonly repo: AnalyticsRepository;
  readonly sessions: AnalyticsSessions;
  /** Seconds watched that make a view (ANALYTICS_VIEW_SECONDS); default 10. */
  readonly viewSec?: number;
  /**
   * Days raw events are kept (ANALYTICS_RAW_RETENTION_DAYS). Expiry deletes whole days, and beacons of sessions issued
   * before the kept days are refused, so a day is always rolled up from all of its events or not at all.
   */
  readonly rawRetentionDays: number;
  /** Beacons per session per window; default 60 per 60 s. */
  readonly sessionRate?: { readonly max: number; readonly windowMs: number };
  /** Events accepted ahead of the database before beacons wait for their INSERT; default 20 000. */
  readonly maxBacklog?: number;
  /** Called with the error of a failed INSERT nobody waited for (default: dropped silently). */
  readonly onWriteError?: (err: unknown, events: number) => void;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Beacon intake and roll-ups: the analytics module the routes, the retention CLI and the bench share. */
export class Analytics {
  private readonly limit: SessionLimit;
  private readonly writer: BeaconWriter;
  private readonly now: () => number;
  readonly viewSec: number;

  constructor(private readonly o: AnalyticsOptions) {
    this.now = o.now ?? Date.now;
    this.viewSec = o.viewSec ?? 10;
    this.writer = new BeaconWriter({ insert: (batches) => o.repo.insert(batches) });
    this.limit = new SessionLimit({ max: o.sessionRate?.max ?? 60, windowMs: o.sessionRate?.windowMs ?? 60_000, now: this.now });
  }

  /**
   * Verifies the session, applies the caps and queues the batch for the next INSERT. Throws ANALYTICS_* codes.
   * Resolves once the beacon is accepted, not stored: the player never retries a beacon (sendBeacon cannot even read
   * the answer), so waiting for the database would only add its latency to every request. Only when the writer is
   * more than maxBacklog events behind does a beacon wait for its INSERT: that bounds memory, and slows senders down.
   */
  async ingest(b: BeaconBody): Promise<void> {
    if (b.events.length > MAX_EVENTS) {
      throw new PipelineError('ANALYTICS_BATCH_TOO_LARGE', `${b.events.length} events in one beacon.`, { events: b.events.length });
    }
    const s = this.o.sessions.verify(b.videoId, b.session);
    // A session of a day whose raw events may already be gone would rewrite that day's roll-up from its own events alone.
    if (s.day < this.oldestOpenDay()) throw new PipelineError('ANALYTICS_SESSION_EXPIRED', `Session of ${s.day} is past retention.`);
    if (!this.limit.take(s.id)) throw new PipelineError('ANALYTICS_RATE_LIMITED', 'Beacon budget of this session used up.');
    const events = b.events.map((e) => ({ seq: e.seq, kind: e.type, atMs: e.at, data: dataOf(e) }));
    const stored = this.writer.write({ videoId: b.videoId, day: s.day, session: s.hash, events });
    if (this.writer.backlog > (this.o.maxBacklog ?? 20_000)) return stored;
    stored.catch((err: unknown) => this.o.onWriteError?.(err, events.length));
  }

  /** Writes every accepted beacon (the API calls it when closing). */
  flush(): Promise<void> {
    return this.writer.drain();
  }

  /** The first day whose raw events are all kept; earlier ones are deleted by expireRaw. */
  oldestOpenDay(): string {
    return dayOf(this.now() - (this.o.rawRetentionDays - 1) * DAY_MS);
  }

  /**
   * Rolls up every (video, day) with raw events newer than its roll-up; only `videoIds` when given. Readers call this
   * first, so an answer always includes every beacon received up to a second before it.
   */
  async refresh(videoIds?: readonly string[]): Promise<number> {
    await this.writer.drain();
    if (videoIds && !videoIds.length) return 0;
    const stale = await this.o.repo.staleDays(videoIds);
    for (const { videoId, day } of stale) await this.o.repo.upsert(await this.rollup(videoId, day));
    return stale.length;
  }

  private async rollup(videoId: string, day: string): Promise<DayRollup> {
    const { rows, coveredUntil } = await this.o.repo.dayEvents(videoId, day);
    const events: StoredEvent[] = [];
    for (const r of rows) {
      // Rows were validated on the way in; one that no longer parses (a schema change) is skipped, not guessed at.
      const parsed = BeaconEvent.safeParse({ ...r.data, seq: r.seq, at: r.at_ms, type: r.kind });
      if (parsed.success) events.push({ session: r.session.toString('hex'), receivedAt: r.received_at.getTime(), event: parsed.data });
    }
    return { videoId, day, coveredUntil, ...rollupDay(events, { viewSec: this.viewSec }) };
  }

  /** Rolled-up rows of the last `days` days (today included), fresh. */
  async rows(videoIds: readonly string[] | undefined, days: number): Promise<DayRollup[]> {
    await this.refresh(videoIds);
    const to = dayOf(this.now());
    const from = dayOf(this.now() - (days - 1) * DAY_MS);
    return this.o.repo.rows({ videoIds, from, to });
  }

  /** Rolls up what is left of the days about to expire, then deletes their raw events. */
  async expireRaw(): Promise<{ rolledUp: number; deleted: number }> {
    const rolledUp = await this.refresh();
    return { rolledUp, deleted: await this.o.repo.expireRaw(this.oldestOpenDay()) };
  }
}
