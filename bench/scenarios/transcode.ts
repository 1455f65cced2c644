import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LadderRung } from '../../core/types.ts';
import { planLadder } from '../../transcoder/ladder.ts';
import { handSingleMethod, perRungMethod, pipelineRunner, warmPipeline, type LadderJob, type LadderMethod } from '../methods.ts';
import type { GeneratedSource } from '../sources.ts';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../types.ts';

/** Runs `fn` in a fresh scratch dir under the run's work dir and removes the dir afterwards, whatever happens. */
export async function inTemp<T>(ctx: ScenarioContext, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(ctx.workDir, 'job-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function ladderJob(
  ctx: ScenarioContext,
  src: GeneratedSource,
  outDir: string,
  o: { preset?: string; threads?: number; rungs?: readonly LadderRung[] } = {},
): LadderJob {
  return {
    ffmpegPath: ctx.ffmpeg.ffmpegPath,
    ffprobePath: ctx.ffmpeg.ffprobePath,
    source: src,
    outDir,
    rungs: o.rungs ?? planLadder(src.probe),
    preset: o.preset ?? ctx.config.preset,
    threads: o.threads ?? 0,
  };
}

const framesOf = (s: GeneratedSource): number => s.spec.durationSec * s.spec.fps;

/** wall seconds → the three figures every transcode reports: wall time, fps and × realtime. */
function speedFigures(
  base: Omit<Figure, 'stat' | 'unit' | 'id' | 'group'> & { id: string; group: string },
  src: GeneratedSource,
  walls: number[],
): Figure[] {
  return [
    { ...base, id: `${base.id}.wall`, group: `${base.group} — wall time`, unit: 's', stat: summarize(walls) },
    { ...base, id: `${base.id}.fps`, group: `${base.group} — fps`, unit: 'fps', stat: summarize(walls.map((w) => framesOf(src) / w)) },
    {
      ...base,
      id: `${base.id}.xrt`,
      group: `${base.group} — × realtime`,
      unit: 'x realtime',
      stat: summarize(walls.map((w) => src.spec.durationSec / w)),
    },
  ];
}

const rungNames = (r: readonly LadderRung[]): string => r.map((x) => x.name).join('+');

/** Ladder encode: the pipeline vs (a) one hand-written command and (b) one ffmpeg per rung, interleaved per repeat. */
export const transcodeCompare: Scenario = {
  id: 'transcode-compare',
  title: 'Ladder transcode: pipeline vs hand-written single command vs one ffmpeg per rung',
  async run(ctx) {
    const ids = ctx.config.compareSources ?? [...ctx.sources.keys()];
    const figures: Figure[] = [];
    await warmPipeline(ctx.ffmpeg.ffmpegPath);
    const methods: ReadonlyArray<[string, LadderMethod]> = [
      ['pipeline', pipelineRunner(ctx.config.runner ?? 'pipeline')],
      ['hand-single', handSingleMethod],
      ['per-rung', perRungMethod],
    ];
    for (const id of ids) {
      const src = ctx.sources.get(id);
      if (!src) throw new Error(`compareSources names unknown source ${id}`);
      const walls = new Map<string, number[]>(methods.map(([m]) => [m, []]));
      for (let r = 1; r <= ctx.config.repeats; r++) {
        // Interleaved (pipeline, a, b, pipeline, a, b …) so slow drift of a shared machine hits every method alike.
        for (const [name, method] of methods) {
          const w = await inTemp(ctx, (dir) => method(ladderJob(ctx, src, dir)));
          walls.get(name)!.push(w);
          ctx.progress.step(this.id, `${id} ${name} rep ${r}/${ctx.config.repeats}`, `${fmt(w)} s`);
        }
      }
      const rungs = planLadder(src.probe);
      const params = { source: id, rungs: rungNames(rungs), preset: ctx.config.preset };
      const byMethod = new Map<string, Figure[]>();
      for (const [name] of methods) {
        const f = speedFigures(
          { id: `transcode.${id}.${name}`, scenario: this.id, group: `Ladder ${id}`, label: name, params: { ...params, method: name } },
          src,
          walls.get(name)!,
        );
        byMethod.set(name, f);
        figures.push(...f);
      }
      const wall = (m: string): Figure => byMethod.get(m)![0]!;
      figures.push(
        ratioFigure({
          id: `transcode.${id}.pipeline-vs-hand`,
          scenario: this.id,
          group: 'Ratios vs reference',
          label: `${id}: pipeline / hand-single wall`,
          numerator: wall('pipeline'),
          denominator: wall('hand-single'),
          target: { op: '<=', value: 1.05 },
          params,
        }),
        ratioFigure({
          id: `transcode.${id}.per-rung-speedup`,
          scenario: this.id,
          group: 'Ratios vs reference',
          label: `${id}: per-rung / pipeline wall (speed-up)`,
          numerator: wall('per-rung'),
          denominator: wall('pipeline'),
          target: { op: '>=', value: 1.3 },
          params,
        }),
      );
    }
    return figures;
  },
};

/** Lower rungs only: what a host serving mostly phones would run; compared with the full ladder. */
function rungSets(src: GeneratedSource): Array<[string, readonly LadderRung[]]> {
  const full = planLadder(src.probe);
  const sets: Array<[string, readonly LadderRung[]]> = [['full', full]];
  const small = full.filter((r) => Math.min(r.width, r.height) <= 540);
  if (small.length > 0 && small.length < full.length) sets.push(['≤540p', small]);
  return sets;
}

/** × realtime and fps per x264 preset and rung set, each against the default preset with the full ladder. */
export const transcodePresets: Scenario = {
  id: 'transcode-presets',
  title: '× realtime per x264 preset and rung set',
  async run(ctx) {
    const src = ctx.sources.get(ctx.config.capacitySource);
    if (!src) throw new Error(`capacitySource ${ctx.config.capacitySource} is not a configured source`);
    const run = pipelineRunner(ctx.config.runner ?? 'pipeline');
    const cells = ctx.config.presets.flatMap((p) => rungSets(src).map(([set, rungs]) => ({ preset: p, set, rungs })));
    const walls = cells.map(() => [] as number[]);
    for (let r = 1; r <= ctx.config.repeats; r++) {
      for (const [i, c] of cells.entries()) {
        const w = await inTemp(ctx, (dir) => run(ladderJob(ctx, src, dir, { preset: c.preset, rungs: c.rungs })));
        walls[i]!.push(w);
        ctx.progress.step(this.id, `${src.id} ${c.preset} ${c.set} rep ${r}/${ctx.config.repeats}`, `${fmt(src.spec.durationSec / w)}× rt`);
      }
    }
    const figures = cells.flatMap((c, i) =>
      speedFigures(
        {
          id: `presets.${src.id}.${c.preset}.${c.set}`,
          scenario: this.id,
          group: `Presets ${src.id}`,
          label: `${c.preset} ${c.set}`,
          params: { source: src.id, preset: c.preset, rungSet: c.set, rungs: rungNames(c.rungs) },
        },
        src,
        walls[i]!,
      ),
    );
    const ref = figures.find((f) => f.id.endsWith('.wall'))!;
    for (const f of figures.filter((x) => x.id.endsWith('.wall') && x !== ref)) {
      figures.push(
        ratioFigure({
          id: `${f.id.replace(/\.wall$/, '')}.speedup`,
          scenario: this.id,
          group: 'Ratios vs reference',
          label: `${src.id}: ${f.label} speed-up vs ${ref.label}`,
          numerator: ref,
          denominator: f,
        }),
      );
    }
    return figures;
  },
};
