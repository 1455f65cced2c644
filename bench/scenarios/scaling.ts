import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pipelineRunner } from '../methods.ts';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario, ThreadSetting } from '../types.ts';
import { inTemp, ladderJob } from './transcode.ts';

/** x264 threads per job for a setting: `auto` = 0 (ffmpeg decides), `split` = this machine's CPUs / jobs. */
export function threadsFor(setting: ThreadSetting, jobs: number, cpus = os.availableParallelism()): number {
  if (setting === 'auto') return 0;
  if (setting === 'split') return Math.max(1, Math.floor(cpus / jobs));
  return setting;
}

/** Every (jobs, threads per job) pair of the grid once, in run order; `split` that equals a number is not run twice. */
export function scalingGrid(jobs: readonly number[], threads: readonly ThreadSetting[], cpus?: number): Array<[number, number]> {
  const seen = new Set<string>();
  const out: Array<[number, number]> = [];
  for (const n of jobs)
    for (const t of threads) {
      const pair: [number, number] = [n, threadsFor(t, n, cpus)];
      if (seen.has(pair.join('x'))) continue;
      seen.add(pair.join('x'));
      out.push(pair);
    }
  return out;
}

/**
 * Throughput over the jobs × threads grid: N pipeline transcodes at once (N worker slots on one box) with T x264
 * threads each. Aggregate × realtime = N × duration / wall; the wall time is also what each of the N videos waited.
 * bench.ts picks the defaults from these figures (bench/sizing.ts).
 */
export const transcodeScaling: Scenario = {
  id: 'transcode-scaling',
  title: 'Throughput with N concurrent pipeline jobs × T threads each',
  async run(ctx) {
    const src = ctx.sources.get(ctx.config.capacitySource);
    if (!src) throw new Error(`capacitySource ${ctx.config.capacitySource} is not a configured source`);
    const run = pipelineRunner(ctx.config.runner ?? 'pipeline');
    const grid = scalingGrid(ctx.config.scalingJobs, ctx.config.scalingThreads);
    const walls = new Map<string, number[]>(grid.map((g) => [g.join('x'), []]));
    // Repeats go round the whole grid, so a slow spell of the machine touches every point alike.
    for (let r = 1; r <= ctx.config.repeats; r++) {
      for (const [n, threads] of grid) {
        const t0 = performance.now();
        await Promise.all(Array.from({ length: n }, () => inTemp(ctx, (dir) => run(ladderJob(ctx, src, dir, { threads })))));
        const wall = (performance.now() - t0) / 1000;
        walls.get(`${n}x${threads}`)!.push(wall);
        ctx.progress.step(
          this.id,
          `${src.id} jobs=${n} threads/job=${threads || 'auto'} rep ${r}/${ctx.config.repeats}`,
          `${fmt((n * src.spec.durationSec) / wall)}× rt total`,
        );
      }
    }
    const figures: Figure[] = [];
    for (const [n, threads] of grid) {
      const w = walls.get(`${n}x${threads}`)!;
      const label = `${n} job${n > 1 ? 's' : ''} × ${threads || 'auto'} thr`;
      const params = { source: src.id, jobs: n, threadsPerJob: threads };
      const id = `scaling.${src.id}.jobs${n}.t${threads || 'auto'}`;
      figures.push(
        {
          id: `${id}.xrt`,
          scenario: this.id,
          group: `Scaling ${src.id} — aggregate × realtime`,
          label,
          unit: 'x realtime',
          stat: summarize(w.map((x) => (n * src.spec.durationSec) / x)),
          params,
        },
        {
          id: `${id}.wall`,
          scenario: this.id,
          group: `Scaling ${src.id} — each video waits`,
          label,
          unit: 's',
          stat: summarize(w),
          params,
        },
      );
    }
    const xrts = figures.filter((f) => f.unit === 'x realtime');
    const base = xrts[0]!;
    for (const f of xrts.slice(1)) {
      figures.push(
        ratioFigure({
          id: f.id.replace(/\.xrt$/, '.gain'),
          scenario: this.id,
          group: 'Ratios vs reference',
          label: `${src.id}: throughput ${f.label} / ${base.label}`,
          numerator: f,
          denominator: base,
        }),
      );
    }
    return figures;
  },
};
