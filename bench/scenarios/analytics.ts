import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { beaconBodies, percentileMs, runOpenLoop, type LoadResult } from '../beacon-load.ts';
import { startE2eService } from '../e2e-service.ts';
import { fmt, meets, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario, ScenarioContext, Target } from '../types.ts';

/**
 * Analytics beacons at the load (500/s, p99 < 50 ms) against the API process `npm start --role api` runs,
 * and GET /healthz at the same rate as the reference: the ratio shows what the beacon path (signature check, zod,
 * one INSERT) costs over the bare HTTP stack on the same box, which is what survives a change of machine.
 */
export const analyticsScenario: Scenario = {
  id: 'analytics',
  title: 'analytics beacons at 500/s vs /healthz at the same rate',
  async run(ctx) {
    const load = ctx.config.analyticsLoad;
    if (!load) return [];
    const key = randomBytes(24).toString('hex');
    const svc = await startE2eService({
      tmpRoot: ctx.workDir,
      workers: [],
      clamd: false,
      // One client IP sends everything here: the per-IP budget would measure the limiter, not the endpoint.
      env: { PLAYBACK_SIGNING_KEY: key, ANALYTICS_IP_RATE_MAX: '100000000' },
    });
    try {
      return await measure(ctx, svc.url, key, load);
    } finally {
      await svc.close();
    }
  },
};

async function measure(ctx: ScenarioContext, url: string, key: string, load: { rate: number; seconds: number }): Promise<Figure[]> {
  const n = Math.round(load.rate * load.seconds);
  // Each session sends about one beacon per 10 s in real life: here one per repeat, so none meets its budget.
  const body = beaconBodies(key, n);
  const beacon = (i: number): Promise<Response> =>
    fetch(`${url}/api/analytics/beacons`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) });
  const health = (): Promise<Response> => fetch(`${url}/healthz`);
  // Warm-up: connections, JIT and the database pool, so the first repeat measures what the others do.
  await runOpenLoop({ rate: load.rate, seconds: 0.5, send: (i) => beacon(n * 10 + i), expectStatus: 204 });
  const runs: Array<{ beacon: LoadResult; health: LoadResult }> = [];
  for (let r = 1; r <= ctx.config.repeats; r++) {
    const b = await runOpenLoop({ rate: load.rate, seconds: load.seconds, send: (i) => beacon(r * n + i), expectStatus: 204 });
    const h = await runOpenLoop({ rate: load.rate, seconds: load.seconds, send: health, expectStatus: 200 });
    if (b.failures || h.failures) throw new Error(`analytics load: ${b.failures} beacons and ${h.failures} health checks failed`);
    runs.push({ beacon: b, health: h });
    ctx.progress.step(
      'analytics',
      `${load.rate}/s × ${load.seconds}s rep ${r}/${ctx.config.repeats}`,
      `p99 ${fmt(percentileMs(b.latenciesMs, 99))} ms`,
    );
  }
  // The box is shared: its load when the run ended says how much of the latency is other processes' CPU time.
  const params = { rate: load.rate, seconds: load.seconds, loadavg1: Math.round(os.loadavg()[0]! * 100) / 100 };
  const fig = (id: string, group: string, label: string, unit: Figure['unit'], xs: number[], target?: Target): Figure => {
    const stat = summarize(xs);
    return {
      id,
      scenario: 'analytics',
      group,
      label,
      unit,
      stat,
      params,
      ...(target ? { target, meetsTarget: meets(stat.median, target) } : {}),
    };
  };
  const lat = 'analytics latency at 500/s (ms)';
  const b99 = fig(
    'analytics.beacon.p99',
    lat,
    'beacon p99',
    'ms',
    runs.map((x) => percentileMs(x.beacon.latenciesMs, 99)),
    { op: '<=', value: 50 },
  );
  const h99 = fig(
    'analytics.health.p99',
    lat,
    '/healthz p99',
    'ms',
    runs.map((x) => percentileMs(x.health.latenciesMs, 99)),
  );
  const bRate = fig(
    'analytics.beacon.rate',
    'analytics achieved rate (req/s)',
    'beacons',
    'req/s',
    runs.map((x) => x.beacon.achievedRate),
    {
      op: '>=',
      value: load.rate * 0.98,
    },
  );
  const hRate = fig(
    'analytics.health.rate',
    'analytics achieved rate (req/s)',
    '/healthz',
    'req/s',
    runs.map((x) => x.health.achievedRate),
  );
  return [
    fig(
      'analytics.beacon.p50',
      lat,
      'beacon p50',
      'ms',
      runs.map((x) => percentileMs(x.beacon.latenciesMs, 50)),
    ),
    b99,
    fig(
      'analytics.health.p50',
      lat,
      '/healthz p50',
      'ms',
      runs.map((x) => percentileMs(x.health.latenciesMs, 50)),
    ),
    h99,
    bRate,
    hRate,
    ratioFigure({
      id: 'analytics.p99.ratio',
      scenario: 'analytics',
      group: 'beacon ÷ /healthz',
      label: 'p99 latency',
      numerator: b99,
      denominator: h99,
    }),
    ratioFigure({
      id: 'analytics.rate.ratio',
      scenario: 'analytics',
      group: 'beacon ÷ /healthz',
      label: 'achieved rate',
      numerator: bRate,
      denominator: hRate,
    }),
  ];
}
