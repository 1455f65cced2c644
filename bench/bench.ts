import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeError } from '../core/errors.ts';
import { resolveFfmpeg } from '../ops/ffmpeg-binaries.ts';
import { estimateCapacity, type CapacityEstimate, type CapacityInput } from './capacity.ts';
import { machineInfo, type MachineInfo } from './machine.ts';
import { pipelineRunner } from './methods.ts';
import { SCENARIOS, selectScenarios } from './registry.ts';
import { buildReport, type BenchReport } from './report.ts';
import { chooseSizing, type SizingChoice } from './sizing.ts';
import { prepareSources, type GeneratedSource } from './sources.ts';
import type { BenchConfig, Figure, Progress, Scenario } from './types.ts';

/** Sizing assumptions for the capacity estimate (see CapacityInput for meaning and defaults). */
export type CapacityOptions = Omit<CapacityInput, 'measuredXRealtime' | 'basis' | 'machineThreads' | 'machineCores'>;

export const DEFAULT_CAPACITY: CapacityOptions = {
  targetCores: 6,
  targetThreads: 12,
  smtYield: 0.25,
  perCoreSpeed: 1,
  utilisation: 0.8,
  backlogHours: 100,
  clearWithinHours: 24,
  incomingHoursPerDay: 0,
  videoMinutes: 5,
};

export interface RunBenchOptions {
  readonly config: BenchConfig;
  /** Generated sources are cached here between runs (content-addressed by spec). */
  readonly sourcesDir: string;
  readonly capacity?: CapacityOptions;
  readonly progress?: Progress;
  /** Scenarios to choose from; default the registry. */
  readonly scenarios?: readonly Scenario[];
  /** Parent of the run's scratch dir; default the OS temp dir. */
  readonly tmpDir?: string;
}

/** Progress lines on stderr with elapsed time, so a long run shows where it is. */
export function consoleProgress(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Progress {
  const t0 = performance.now();
  return {
    step: (scenario, what, value) => {
      const s = ((performance.now() - t0) / 1000).toFixed(0).padStart(5);
      write(`[${s}s] ${scenario.padEnd(18)} ${what}${value ? ` → ${value}` : ''}`);
    },
  };
}

/** The jobs × threads grid measured on the capacity source, and the defaults chosen from it (bench/sizing.ts). */
export function sizingFrom(
  figures: readonly Figure[],
  source: string,
  machineThreads: number,
  targetThreads: number,
): SizingChoice | undefined {
  const grid = figures
    .filter((f) => f.id.startsWith(`scaling.${source}.`) && f.unit === 'x realtime')
    .map((f) => ({ jobs: Number(f.params.jobs), threadsPerJob: Number(f.params.threadsPerJob), xrt: f.stat.median }));
  return chooseSizing({ grid, machineThreads, targetThreads });
}

/**
 * Aggregate × realtime on the capacity source at the chosen sizing (else the best figure there is), normalised to
 * 1080p30 by pixel rate when the source differs: the capacity estimate is for the defaults a host would run.
 */
export function capacityBasis(
  figures: readonly Figure[],
  src: GeneratedSource,
  preset: string,
  chosen?: SizingChoice['chosen'],
): { xrt: number; basis: string } | undefined {
  const scaling = figures.filter((f) => f.id.startsWith(`scaling.${src.id}.`) && f.unit === 'x realtime');
  const single =
    figures.find((f) => f.id === `transcode.${src.id}.pipeline.xrt`) ??
    figures.find((f) => f.id === `presets.${src.id}.${preset}.full.xrt`);
  const atChosen = chosen && scaling.find((f) => f.params.jobs === chosen.jobs && f.params.threadsPerJob === chosen.threadsPerJob);
  const best = atChosen ?? [...scaling, ...(single ? [single] : [])].sort((a, b) => b.stat.median - a.stat.median)[0];
  if (!best) return undefined;
  const norm = (src.spec.width * src.spec.height * src.spec.fps) / (1920 * 1080 * 30);
  const how = atChosen
    ? `chosen sizing ${best.label} of ${scaling.length} grid points`
    : best.id.startsWith('scaling.')
      ? `best of ${scaling.length} concurrency levels (${best.label})`
      : 'single job';
  const normNote = Math.abs(norm - 1) > 0.01 ? `, normalised ×${norm.toFixed(2)} by pixel rate to 1080p30` : '';
  return { xrt: best.stat.median * norm, basis: `${src.id}, full ladder, ${preset}, ${how}${normNote}` };
}

function capacityFrom(
  figures: readonly Figure[],
  cfg: BenchConfig,
  srcs: ReadonlyMap<string, GeneratedSource>,
  m: MachineInfo,
  opts: CapacityOptions,
  sizing: SizingChoice | undefined,
): CapacityEstimate | null {
  const src = srcs.get(cfg.capacitySource);
  const b = src ? capacityBasis(figures, src, cfg.preset, sizing?.chosen) : undefined;
  if (!b) return null;
  // Two one-core workers against one, on one long chunked upload: what a second host really adds.
  const speedup = figures.find((f) => f.id.startsWith('scaleout.') && f.id.endsWith('.speedup-2'))?.stat.median;
  const addedHostYield = speedup !== undefined && Number.isFinite(speedup) ? Math.min(1, Math.max(0.1, speedup - 1)) : undefined;
  return estimateCapacity({
    ...opts,
    measuredXRealtime: b.xrt,
    basis: b.basis,
    machineThreads: m.threads,
    machineCores: m.cores,
    ...(addedHostYield !== undefined ? { addedHostYield } : {}),
  });
}

/** Runs the selected scenarios and returns a validated report; the caller writes and prints it. */
export async function runBench(o: RunBenchOptions): Promise<BenchReport> {
  const startedAt = new Date();
  const progress = o.progress ?? consoleProgress();
  const ffmpeg = await resolveFfmpeg();
  const machine = await machineInfo(ffmpeg.version);
  const scenarios = selectScenarios(o.scenarios ?? SCENARIOS, o.config.only);
  pipelineRunner(o.config.runner ?? 'pipeline'); // a typo fails now, not after the sources are generated
  const sources = await prepareSources({
    specs: o.config.sources,
    dir: o.sourcesDir,
    ffmpegPath: ffmpeg.ffmpegPath,
    ffprobePath: ffmpeg.ffprobePath,
    onGenerate: (id) => progress.step('sources', `generating ${id}`),
  });
  await mkdir(o.tmpDir ?? os.tmpdir(), { recursive: true });
  const workDir = await mkdtemp(path.join(o.tmpDir ?? os.tmpdir(), 'ks-bench-'));
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    for (const s of scenarios) {
      progress.step(s.id, `start: ${s.title}`);
      try {
        figures.push(...(await s.run({ config: o.config, sources, ffmpeg, workDir, progress, sourcesDir: o.sourcesDir })));
      } catch (err) {
        // One broken scenario must not throw away the figures of the others; the failure is in the report.
        notes.push(`scenario ${s.id} failed: ${describeError(err)}`);
        progress.step(s.id, `FAILED: ${describeError(err)}`);
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const capacityOpts = o.capacity ?? DEFAULT_CAPACITY;
  const sizing = sizingFrom(figures, o.config.capacitySource, machine.threads, capacityOpts.targetThreads) ?? null;
  const capacity = capacityFrom(figures, o.config, sources, machine, capacityOpts, sizing ?? undefined);
  if (o.config.mode === 'quick') notes.push('quick mode: tiny clips and few repeats; figures are for smoke-testing, not sizing.');
  const srcList = await Promise.all(
    [...sources.values()].map(async (s) => ({
      id: s.id,
      ...s.spec,
      sizeBytes: (await stat(s.path)).size,
    })),
  );
  return buildReport({ config: o.config, machine, startedAt, finishedAt: new Date(), figures, sources: srcList, capacity, sizing, notes });
}
