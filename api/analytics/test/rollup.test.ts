import { describe, expect, it } from 'vitest';
import type { DayRollup } from '../../../db/analytics.ts';
import type { BeaconEvent } from '../beacon.ts';
import { histogramPercentile, percentile, retentionBuckets, rollupDay, startupHistogram, type StoredEvent } from '../rollup.ts';
import { SessionLimit } from '../session-limit.ts';
import { summarize } from '../summary.ts';

const T0 = Date.UTC(2026, 0, 1, 12);
/** Events of one session, received one second apart. */
const session = (id: string, events: BeaconEvent[], receivedFrom = T0): StoredEvent[] =>
  events.map((event, i) => ({ session: id, receivedAt: receivedFrom + i * 1000, event }));
const start = (seq: number, startupMs: number, duration = 100): BeaconEvent => ({ type: 'start', seq, at: 0, startupMs, duration });
const hb = (seq: number, from: number, to: number, bitrate = 1000, height = 360): BeaconEvent => ({
  type: 'heartbeat',
  seq,
  at: seq * 1000,
  from,
  to,
  bitrate,
  height,
});

describe('rollup math', () => {
  it('percentiles are nearest-rank', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([7], 95)).toBe(7);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
  });

  it('histogram percentiles report the bucket bound, and overflow reports the last bound', () => {
    const hist = startupHistogram([50, 150, 150, 900, 60_000]);
    expect(hist[0]).toBe(1);
    expect(hist[1]).toBe(2);
    expect(hist.at(-1)).toBe(1);
    expect(histogramPercentile(hist, 50)).toBe(200);
    expect(histogramPercentile(hist, 95)).toBe(30_000);
    expect(histogramPercentile(startupHistogram([]), 50)).toBeUndefined();
  });

  it('retention counts a 5 % slice when at least half of it was played, overlaps once', () => {
    // 100 s video: slices of 5 s. [0, 12.5] covers slices 0, 1 fully and half of slice 2; [11, 14] overlaps.
    const b = retentionBuckets(
      [
        [0, 12.5],
        [11, 14],
        [97, 100],
      ],
      100,
    );
    expect(b.slice(0, 4)).toEqual([true, true, true, false]);
    expect(b[19]).toBe(true); // 3 of 5 s
    expect(b.filter(Boolean)).toHaveLength(4);
    expect(retentionBuckets([[0, 2.4]], 100)[0]).toBe(false); // under half
  });

  it('a view needs viewSec watched, or 90 % of a shorter video; completion needs the last 5 %', () => {
    const events = [
      ...session('watched-12s', [start(0, 300), hb(1, 0, 12)]),
      ...session('skipped-to-end', [start(0, 300), hb(1, 95, 100)]),
      ...session('almost-30s', [start(0, 300), hb(1, 0, 9.9)]),
    ];
    const r = rollupDay(events, { viewSec: 10 });
    expect(r).toMatchObject({ sessions: 3, views: 1, completed: 1, retentionBase: 3 });
    expect(r.watchSec).toBeCloseTo(12 + 5 + 9.9, 6);
    // A 4 s clip watched to the end is a view although it is shorter than viewSec.
    const clip = rollupDay(session('clip', [start(0, 100, 4), hb(1, 0, 4)]), { viewSec: 10 });
    expect(clip).toMatchObject({ views: 1, completed: 1 });
    expect(clip.retention.every((x) => x === 1)).toBe(true);
    const short = rollupDay(session('clip', [start(0, 100, 4), hb(1, 0, 3.5)]), { viewSec: 10 });
    expect(short).toMatchObject({ views: 0, completed: 0 });
  });

  it('counts a retried event once, clips spans to the video and to the time the session was seen', () => {
    const dup = rollupDay([...session('s', [start(0, 500), hb(1, 0, 10)]), ...session('s', [hb(1, 0, 10)])], { viewSec: 10 });
    expect(dup.watchSec).toBe(10);
    const beyond = rollupDay(session('s', [start(0, 500, 20), hb(1, 10, 50)]), { viewSec: 1 });
    expect(beyond.watchSec).toBe(10);
    // 1000 s claimed within one second of beacons: capped at that second plus one heartbeat's slack (30 s).
    const forged = rollupDay(
      [0, 1].map((seq) => ({ session: 'x', receivedAt: T0, event: hb(seq, 0, 500) })),
      { viewSec: 1 },
    );
    expect(forged.watchSec).toBeCloseTo(30, 6);
    expect(Object.values(forged.rungs).reduce((a, b) => a + b, 0)).toBeCloseTo(30, 6);
  });

  it('QoE: startup p50/p95, rebuffer seconds, time-weighted bitrate, rung seconds, error sessions', () => {
    const events = [
      ...session('a', [start(0, 200), hb(1, 0, 10, 1_000_000, 360), hb(2, 10, 20, 3_000_000, 720)]),
      ...session('b', [
        start(0, 1200),
        { type: 'stall', seq: 1, at: 5000, durationMs: 2500, pos: 4 },
        { type: 'quality', seq: 2, at: 5000, level: 0, bitrate: 1_000_000, height: 360 },
        hb(3, 0, 10, 1_000_000, 360),
        { type: 'seek', seq: 4, at: 6000, from: 10, to: 50 },
        { type: 'error', seq: 5, at: 7000, code: 'bufferStalledError', fatal: false },
      ]),
      ...session('c', [start(0, 800), { type: 'error', seq: 1, at: 900, code: 'manifestLoadError', fatal: true }]),
    ];
    const r = rollupDay(events, { viewSec: 10 });
    expect(r).toMatchObject({ sessions: 3, startupCount: 3, startupP50Ms: 800, startupP95Ms: 1200, stalls: 1, stallSec: 2.5 });
    expect(r).toMatchObject({ qualitySwitches: 1, seeks: 1, errors: 2, errorSessions: 1 });
    expect(r.rungs).toEqual({ '360p': 20, '720p': 10 });
    expect(r.bitrateSec).toBe(1_000_000 * 20 + 3_000_000 * 10);
    const s = summarize([{ ...r, videoId: 'v', day: '2026-01-01', coveredUntil: new Date(T0) }]);
    expect(s.averageBitrate).toBe(Math.round(50_000_000 / 30));
    expect(s.rebufferRatio).toBeCloseTo(2.5 / 32.5, 4);
    expect(s.errorRate).toBeCloseTo(1 / 3, 4);
    expect(s.rungs).toEqual({ '360p': 0.6667, '720p': 0.3333 });
    expect(s.startup).toEqual({ samples: 3, p50Ms: 800, p95Ms: 1200, estimated: false });
  });

  it('summaries over several days add counts and estimate startup percentiles from the histograms', () => {
    const day = (d: string, startups: number[]): DayRollup => ({
      videoId: 'v',
      day: d,
      coveredUntil: new Date(T0),
      ...rollupDay(
        startups.flatMap((ms, i) => session(`${d}-${i}`, [start(0, ms), hb(1, 0, 20)])),
        { viewSec: 10 },
      ),
    });
    const s = summarize([day('2026-01-01', [100, 400]), day('2026-01-02', [2500])]);
    expect(s).toMatchObject({ sessions: 3, views: 3, watchTimeSec: 60 });
    expect(s.startup).toEqual({ samples: 3, p50Ms: 500, p95Ms: 3000, estimated: true });
    expect(summarize([]).startup).toEqual({ samples: 0, p50Ms: null, p95Ms: null, estimated: false });
    expect(summarize([]).completionRate).toBeNull();
  });

  it('limits beacons per session over a sliding window', () => {
    let now = 0;
    const limit = new SessionLimit({ max: 3, windowMs: 1000, now: () => now });
    expect([1, 2, 3, 4].map(() => limit.take('a'))).toEqual([true, true, true, false]);
    expect(limit.take('b')).toBe(true);
    now = 1100; // the previous window still weighs 90 %: 2 of its 3 count
    expect(limit.take('a')).toBe(true);
    expect(limit.take('a')).toBe(false);
    now = 5000; // long idle: everything forgotten
    expect([1, 2, 3].every(() => limit.take('a'))).toBe(true);
  });
});
