import { z } from 'zod';
import type { DayRollup } from '../../db/analytics.ts';
import { histogramPercentile, RETENTION_BUCKETS, STARTUP_BOUNDS_MS } from './rollup.ts';

/** What the analytics API answers for one day, one video or everything: rates computed from the stored counts. */
export const AnalyticsSummary = z.object({
  sessions: z.number().describe('Playback sessions that sent at least one beacon'),
  views: z.number().describe('Sessions that watched at least ANALYTICS_VIEW_SECONDS (or 90 % of a shorter video)'),
  watchTimeSec: z.number(),
  completionRate: z.number().nullable().describe('Views that played the last 5 % ÷ views'),
  retention: z.array(z.number()).describe('Per 5 % of the duration: share of sessions that watched at least half of it'),
  startup: z.object({
    samples: z.number(),
    p50Ms: z.number().nullable(),
    p95Ms: z.number().nullable(),
    estimated: z.boolean().describe('true when summed over several days or videos: histogram bucket bounds, not exact'),
  }),
  rebufferRatio: z.number().nullable().describe('Stalled seconds ÷ (watched + stalled seconds)'),
  stalls: z.number(),
  averageBitrate: z.number().nullable().describe('Delivered bits per second, weighted by time played at each rung'),
  rungs: z.record(z.string(), z.number()).describe('Share of watch time per rung ("360p")'),
  qualitySwitches: z.number(),
  seeks: z.number(),
  errorRate: z.number().nullable().describe('Sessions with a fatal playback error ÷ sessions'),
});
export type AnalyticsSummary = z.infer<typeof AnalyticsSummary>;

type Sums = Omit<DayRollup, 'videoId' | 'day' | 'coveredUntil' | 'startupP50Ms' | 'startupP95Ms'>;

function add(a: Sums, r: DayRollup): Sums {
  const rungs: Record<string, number> = { ...a.rungs };
  for (const [k, v] of Object.entries(r.rungs)) rungs[k] = (rungs[k] ?? 0) + v;
  return {
    sessions: a.sessions + r.sessions,
    views: a.views + r.views,
    completed: a.completed + r.completed,
    watchSec: a.watchSec + r.watchSec,
    retentionBase: a.retentionBase + r.retentionBase,
    retention: a.retention.map((x, i) => x + (r.retention[i] ?? 0)),
    startupCount: a.startupCount + r.startupCount,
    startupHist: a.startupHist.map((x, i) => x + (r.startupHist[i] ?? 0)),
    stallSec: a.stallSec + r.stallSec,
    stalls: a.stalls + r.stalls,
    bitrateSec: a.bitrateSec + r.bitrateSec,
    rungs,
    qualitySwitches: a.qualitySwitches + r.qualitySwitches,
    seeks: a.seeks + r.seeks,
    errors: a.errors + r.errors,
    errorSessions: a.errorSessions + r.errorSessions,
  };
}

const EMPTY: Sums = {
  sessions: 0,
  views: 0,
  completed: 0,
  watchSec: 0,
  retentionBase: 0,
  retention: new Array<number>(RETENTION_BUCKETS).fill(0),
  startupCount: 0,
  startupHist: new Array<number>(STARTUP_BOUNDS_MS.length + 1).fill(0),
  stallSec: 0,
  stalls: 0,
  bitrateSec: 0,
  rungs: {},
  qualitySwitches: 0,
  seeks: 0,
  errors: 0,
  errorSessions: 0,
};

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The summary of any set of roll-up rows; one row keeps its exact startup percentiles. */
export function summarize(rows: readonly DayRollup[]): AnalyticsSummary {
  const s = rows.reduce(add, EMPTY);
  const only = rows.length === 1 ? rows[0] : undefined;
  const played = Object.values(s.rungs).reduce((x, y) => x + y, 0);
  return {
    sessions: s.sessions,
    views: s.views,
    watchTimeSec: round(s.watchSec, 2),
    completionRate: nullableRound(ratio(s.completed, s.views)),
    retention: s.retention.map((x) => (s.retentionBase ? round(x / s.retentionBase) : 0)),
    startup: {
      samples: s.startupCount,
      p50Ms: only ? only.startupP50Ms : (histogramPercentile(s.startupHist, 50) ?? null),
      p95Ms: only ? only.startupP95Ms : (histogramPercentile(s.startupHist, 95) ?? null),
      estimated: only === undefined && s.startupCount > 0,
    },
    rebufferRatio: nullableRound(ratio(s.stallSec, s.watchSec + s.stallSec)),
    stalls: s.stalls,
    averageBitrate: s.watchSec > 0 ? Math.round(s.bitrateSec / s.watchSec) : null,
    rungs: Object.fromEntries(Object.entries(s.rungs).map(([k, v]) => [k, played ? round(v / played) : 0])),
    qualitySwitches: s.qualitySwitches,
    seeks: s.seeks,
    errorRate: nullableRound(ratio(s.errorSessions, s.sessions)),
  };
}

const nullableRound = (x: number | null): number | null => (x === null ? null : round(x));
