import { randomUUID } from 'node:crypto';
import { AnalyticsSessions } from '../api/analytics/session-token.ts';

/**
 * An open-loop load: `rate` requests a second for `seconds`, each sent on schedule whether or not earlier ones have
 * answered (a closed loop would slow down with the server and hide its queueing). Latency is per request, from the
 * moment it was due, so a generator that falls behind shows up as latency rather than as a lower rate.
 */
export interface LoadResult {
  readonly latenciesMs: readonly number[];
  /** Completed requests per second of wall time. */
  readonly achievedRate: number;
  /** Requests whose status was not the expected one (or that failed). */
  readonly failures: number;
}

export interface LoadOptions {
  readonly rate: number;
  readonly seconds: number;
  /** The i-th request. */
  readonly send: (i: number) => Promise<Response>;
  readonly expectStatus: number;
}

/** Nearest-rank percentile of latencies in ms. */
export function percentileMs(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

export async function runOpenLoop(o: LoadOptions): Promise<LoadResult> {
  const total = Math.round(o.rate * o.seconds);
  const latencies: number[] = [];
  let failures = 0;
  const inflight: Array<Promise<void>> = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      o.send(i).then(
        async (res) => {
          await res.arrayBuffer();
          latencies.push(performance.now() - due);
          if (res.status !== o.expectStatus) failures++;
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const wall = (performance.now() - t0) / 1000;
  return { latenciesMs: latencies, achievedRate: latencies.length / wall, failures };
}

/** Beacon bodies as the player sends them: a heartbeat and sometimes a quality switch, across many sessions. */
export function beaconBodies(signingKey: string, sessions: number): (i: number) => string {
  const issuer = new AnalyticsSessions({ key: signingKey, ttlSec: 3600 });
  const pool = Array.from({ length: sessions }, () => {
    const videoId = randomUUID();
    return { videoId, session: issuer.issue(videoId) };
  });
  return (i) => {
    const s = pool[i % pool.length]!;
    const seq = Math.floor(i / pool.length) * 2;
    const events: unknown[] = [
      { type: 'heartbeat', seq, at: seq * 5000, from: seq * 5, to: seq * 5 + 10, bitrate: 1_500_000, height: 720 },
    ];
    if (i % 7 === 0) events.push({ type: 'quality', seq: seq + 1, at: seq * 5000 + 1, level: 1, bitrate: 800_000, height: 480 });
    return JSON.stringify({ videoId: s.videoId, session: s.session, events });
  };
}
