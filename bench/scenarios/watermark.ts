import { execFile } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { Logger } from '../../core/logger.ts';
import { mediaInput } from '../../media/allow-list.ts';
import { probeWatermark } from '../../media/watermark.ts';
import { planLadder } from '../../transcoder/ladder.ts';
import { transcodeLadder } from '../../transcoder/transcode.ts';
import type { WatermarkOptions } from '../../transcoder/watermark.ts';
import { warmPipeline } from '../methods.ts';
import type { GeneratedSource } from '../sources.ts';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario, ScenarioContext } from '../types.ts';
import { inTemp } from './transcode.ts';

const run = promisify(execFile);
const silent: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** A 400×200 logo with a transparent background and a half-transparent band: alpha that the overlay must blend. */
async function makeLogo(ctx: ScenarioContext): Promise<string> {
  const file = path.join(ctx.workDir, 'watermark.png');
  const graph =
    'color=c=black@0.0:s=400x200,format=rgba,drawbox=x=20:y=40:w=360:h=120:color=white@0.6:t=fill,drawbox=x=60:y=70:w=280:h=60:color=red@1.0:t=fill';
  await run(ctx.ffmpeg.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', graph, '-frames:v', '1', file]);
  return file;
}

async function ladderWall(ctx: ScenarioContext, src: GeneratedSource, dir: string, watermark?: WatermarkOptions): Promise<number> {
  const t0 = performance.now();
  await transcodeLadder({
    ffmpegPath: ctx.ffmpeg.ffmpegPath,
    ffprobePath: ctx.ffmpeg.ffprobePath,
    source: mediaInput(src.path, src.probe.container),
    probe: src.probe,
    outDir: dir,
    logger: silent,
    preset: ctx.config.preset,
    threads: 0,
    rungs: planLadder(src.probe),
    // A watermark rules out the top-rung stream copy; both sides encode every rung, so the ratio is the overlay's cost.
    allowRemux: false,
    watermark,
  });
  return (performance.now() - t0) / 1000;
}

/**
 * What the watermark costs: the full ladder of the capacity source encoded without and with the overlay (default
 * WATERMARK_* settings, a PNG with alpha), alternating so machine drift hits both alike. Target: ≤ 3 % more wall time.
 * Not measured here: sources that would otherwise take the quick path (top rung copied) lose it with a watermark.
 */
export const watermarkScenario: Scenario = {
  id: 'watermark',
  title: 'Watermark overlay: ladder encode time with / without',
  async run(ctx) {
    const src = ctx.sources.get(ctx.config.capacitySource);
    if (!src) throw new Error(`capacitySource ${ctx.config.capacitySource} is not a configured source`);
    await warmPipeline(ctx.ffmpeg.ffmpegPath);
    const image = await probeWatermark(await makeLogo(ctx), { ffprobePath: ctx.ffmpeg.ffprobePath });
    const wm: WatermarkOptions = { image, corner: 'bottom-right', opacity: 0.6, heightFraction: 0.08, marginFraction: 0.03 };
    const walls = { plain: [] as number[], watermark: [] as number[] };
    for (let r = 1; r <= ctx.config.repeats; r++) {
      for (const side of ['plain', 'watermark'] as const) {
        const w = await inTemp(ctx, (dir) => ladderWall(ctx, src, dir, side === 'watermark' ? wm : undefined));
        walls[side].push(w);
        ctx.progress.step(this.id, `${src.id} ${side} rep ${r}/${ctx.config.repeats}`, `${fmt(w)} s`);
      }
    }
    const params = { source: src.id, preset: ctx.config.preset, corner: wm.corner, opacity: wm.opacity, height: wm.heightFraction };
    const figure = (side: keyof typeof walls): Figure => ({
      id: `watermark.${src.id}.${side}.wall`,
      scenario: this.id,
      group: `Watermark ${src.id} — wall time`,
      label: side,
      unit: 's',
      stat: summarize(walls[side]),
      params: { ...params, watermark: side === 'watermark' },
    });
    const [plain, marked] = [figure('plain'), figure('watermark')];
    return [
      plain,
      marked,
      ratioFigure({
        id: `watermark.${src.id}.cost`,
        scenario: this.id,
        group: 'Ratios vs reference',
        label: `${src.id}: with / without watermark wall`,
        numerator: marked,
        denominator: plain,
        target: { op: '<=', value: 1.03 },
        params,
      }),
    ];
  },
};
