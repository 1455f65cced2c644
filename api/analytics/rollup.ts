import type { DayRollup } from '../../db/analytics.ts';
import type { BeaconEvent } from './beacon.ts';

/**
 * The roll-up math, pure: raw events of one video and day in, one DayRollup out. Definitions (README "Viewing
 * analytics"):
 * - watch time: seconds of media played, from heartbeat spans, clipped to the video and to the time the server saw
 *   the session alive (so a client cannot claim more play than it had wall time for);
 * - completed: the session played the last 5 % of the video; a view: at least viewSec watched, or 90 % of the video
 *   when that is less (a clip shorter than viewSec watched to the end is a view; one skipped to its end is not);
 * - retention: per 5 % of the duration, sessions that played at least half of that slice;
 * - startup: load → first frame of the session's first start event; rebuffering: stalls after the first frame.
 */
export const RETENTION_BUCKETS = 20;
/** Upper bounds (ms) of the startup histogram's buckets; the last bucket is everything above 30 s. */
export const STARTUP_BOUNDS_MS: readonly number[] = [100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 30_000];
/** Wall time a session may have played beyond the span between its first and last beacon (one heartbeat's worth). */
const WALL_SLACK_SEC = 30;

export interface StoredEvent {
  /** Session pseudonym (hex of the stored hash). */
  readonly session: string;
  /** When the server received it, ms since epoch. */
  readonly receivedAt: number;
  readonly event: BeaconEvent;
}

export interface RollupOptions {
  /** Seconds watched that make a view (ANALYTICS_VIEW_SECONDS). */
  readonly viewSec: number;
}

interface SessionFacts {
  duration: number | undefined;
  startupMs: number | undefined;
  watched: number;
  buckets: boolean[] | undefined;
  completed: boolean;
  stallSec: number;
  stalls: number;
  bitrateSec: number;
  rungs: Map<string, number>;
  switches: number;
  seeks: number;
  errors: number;
  fatal: boolean;
}

/** Nearest-rank percentile of `values` (0 < p ≤ 100); undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Length of the union of [from, to] spans. */
function unionLength(spans: ReadonlyArray<readonly [number, number]>, lo: number, hi: number): number {
  const cut = spans.map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as const).filter(([a, b]) => b > a);
  cut.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of cut) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Which 5 % slices of `duration` the spans cover at least half of. */
export function retentionBuckets(spans: ReadonlyArray<readonly [number, number]>, duration: number): boolean[] {
  const size = duration / RETENTION_BUCKETS;
  return Array.from({ length: RETENTION_BUCKETS }, (_, i) => unionLength(spans, i * size, (i + 1) * size) >= size / 2);
}

/** One session's events, deduplicated by sequence number (a retried beacon counts once), reduced to its facts. */
function sessionFacts(events: readonly StoredEvent[]): SessionFacts {
  const bySeq = new Map<number, BeaconEvent>();
  for (const e of events) if (!bySeq.has(e.event.seq)) bySeq.set(e.event.seq, e.event);
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const f: SessionFacts = {
    duration: undefined,
    startupMs: undefined,
    watched: 0,
    buckets: undefined,
    completed: false,
    stallSec: 0,
    stalls: 0,
    bitrateSec: 0,
    rungs: new Map(),
    switches: 0,
    seeks: 0,
    errors: 0,
    fatal: false,
  };
  const spans: Array<[number, number, number, number]> = [];
  for (const e of ordered) {
    switch (e.type) {
      case 'start':
        f.startupMs ??= e.startupMs;
        if (e.duration > 0) f.duration ??= e.duration;
        break;
      case 'heartbeat':
        if (e.to > e.from) spans.push([e.from, e.to, e.bitrate, e.height]);
        break;
      case 'stall':
        f.stallSec += e.durationMs / 1000;
        f.stalls++;
        break;
      case 'quality':
        f.switches++;
        break;
      case 'seek':
        f.seeks++;
        break;
      case 'error':
        f.errors++;
        f.fatal ||= e.fatal;
        break;
      case 'end':
        break;
    }
  }
  addPlayback(f, spans, events);
  return f;
}

function addPlayback(
  f: SessionFacts,
  spans: ReadonlyArray<readonly [number, number, number, number]>,
  events: readonly StoredEvent[],
): void {
  const hi = f.duration ?? Infinity;
  const clipped = spans.map(([a, b, rate, h]) => [Math.min(a, hi), Math.min(b, hi), rate, h] as const).filter(([a, b]) => b > a);
  const claimed = clipped.reduce((s, [a, b]) => s + (b - a), 0);
  const times = events.map((e) => e.receivedAt);
  const wall = (Math.max(...times) - Math.min(...times)) / 1000 + WALL_SLACK_SEC;
  const scale = claimed > wall ? wall / claimed : 1;
  f.watched = claimed * scale;
  for (const [a, b, rate, h] of clipped) {
    const sec = (b - a) * scale;
    f.bitrateSec += rate * sec;
    const rung = h > 0 ? `${h}p` : 'audio';
    f.rungs.set(rung, (f.rungs.get(rung) ?? 0) + sec);
  }
  if (f.duration !== undefined) {
    f.buckets = retentionBuckets(
      clipped.map(([a, b]) => [a, b]),
      f.duration,
    );
    f.completed = f.buckets[RETENTION_BUCKETS - 1] === true;
  }
}

/** Counts per STARTUP_BOUNDS_MS bucket (plus the overflow bucket). */
export function startupHistogram(values: readonly number[]): number[] {
  const hist = new Array<number>(STARTUP_BOUNDS_MS.length + 1).fill(0);
  for (const v of values) {
    const i = STARTUP_BOUNDS_MS.findIndex((b) => v <= b);
    hist[i === -1 ? STARTUP_BOUNDS_MS.length : i]!++;
  }
  return hist;
}

/** Estimated percentile from a histogram: the upper bound of the bucket holding the nearest rank (30 s for overflow). */
export function histogramPercentile(hist: readonly number[], p: number): number | undefined {
  const n = hist.reduce((s, c) => s + c, 0);
  if (!n) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return STARTUP_BOUNDS_MS[Math.min(i, STARTUP_BOUNDS_MS.length - 1)];
  }
  return STARTUP_BOUNDS_MS[STARTUP_BOUNDS_MS.length - 1];
}

/** The day's roll-up of one video from all its raw events of that day. */
export function rollupDay(events: readonly StoredEvent[], o: RollupOptions): Omit<DayRollup, 'videoId' | 'day' | 'coveredUntil'> {
  const bySession = new Map<string, StoredEvent[]>();
  for (const e of events) bySession.set(e.session, [...(bySession.get(e.session) ?? []), e]);
  const all = [...bySession.values()].map(sessionFacts);
  const startups = all.flatMap((f) => (f.startupMs === undefined ? [] : [f.startupMs]));
  const retention = new Array<number>(RETENTION_BUCKETS).fill(0);
  const rungs: Record<string, number> = {};
  for (const f of all) {
    f.buckets?.forEach((hit, i) => (retention[i]! += hit ? 1 : 0));
    for (const [k, v] of f.rungs) rungs[k] = (rungs[k] ?? 0) + v;
  }
  const sum = (pick: (f: SessionFacts) => number): number => all.reduce((s, f) => s + pick(f), 0);
  const count = (test: (f: SessionFacts) => boolean): number => all.filter(test).length;
  return {
    sessions: all.length,
    views: count((f) => f.watched >= Math.min(o.viewSec, (f.duration ?? Infinity) * 0.9)),
    completed: count((f) => f.completed),
    watchSec: sum((f) => f.watched),
    retentionBase: count((f) => f.buckets !== undefined),
    retention,
    startupCount: startups.length,
    startupP50Ms: percentile(startups, 50) ?? null,
    startupP95Ms: percentile(startups, 95) ?? null,
    startupHist: startupHistogram(startups),
    stallSec: sum((f) => f.stallSec),
    stalls: sum((f) => f.stalls),
    bitrateSec: sum((f) => f.bitrateSec),
    rungs,
    qualitySwitches: sum((f) => f.switches),
    seeks: sum((f) => f.seeks),
    errors: sum((f) => f.errors),
    errorSessions: count((f) => f.fatal),
  };
}
