import { rm } from 'node:fs/promises';
import { planLadder } from '../../transcoder/ladder.ts';
import { startE2eService, type E2eService } from '../e2e-service.ts';
import { handSingleMethod, perRungMethod, type LadderJob } from '../methods.ts';
import { freshCopy, prepareSources, type GeneratedSource, type SourceSpec } from '../sources.ts';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import { inTemp } from './transcode.ts';
import type { Figure, Scenario, ScenarioContext } from '../types.ts';

/** How long one upload may take to turn ready before the run gives up on it. */
const READY_TIMEOUT_MS = 60 * 60_000;
/** The times come from the row, so polling needs no precision; slow enough to stay under the API's rate limit. */
const POLL_MS = 500;
/** A tiny clip pushed through once before anything is timed. */
const WARM_UP: SourceSpec = { content: 'grain', width: 320, height: 180, fps: 30, durationSec: 2, bitrateKbps: 500 };

interface ServiceRun {
  /** Upload finished (final PATCH answered) → row `ready`, in seconds. */
  readonly readySec: number;
  /** Upload finished → row `previewable` (master + first segment of every rung public). */
  readonly previewableSec: number;
}

/**
 * One upload through the running service. Both instants come from the row (previewable_at, ready_at, stamped by the
 * worker), measured against the client's clock at the final PATCH response: the same host, so the same clock.
 */
export async function throughService(svc: E2eService, src: GeneratedSource): Promise<ServiceRun> {
  // New bytes every time, as every real upload is: a repeat of the same file would find clamd's verdict cached.
  const file = await freshCopy(src.path);
  const { videoId, finishedAt } = await svc.upload(file).finally(() => rm(file, { force: true }));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const v = await svc.video(videoId);
    if (v.status === 'ready' && v.readyAt) {
      const at = (iso: string | null): number => (iso ? (Date.parse(iso) - finishedAt) / 1000 : NaN);
      return { readySec: at(v.readyAt), previewableSec: at(v.previewableAt) };
    }
    if (['failed', 'rejected', 'infected'].includes(v.status)) throw new Error(`video ${videoId} ended ${v.status}`);
    if (Date.now() > deadline) throw new Error(`video ${videoId} not ready after ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function figuresFor(
  ctx: ScenarioContext,
  src: GeneratedSource,
  s: Record<'hand' | 'pipeline' | 'peer' | 'previewable', number[]>,
): Figure[] {
  const id = src.id;
  const params = { source: id, rungs: planLadder(src.probe).length, preset: ctx.config.preset };
  const group = `End to end ${id} (s)`;
  const f = (key: keyof typeof s, label: string): Figure => ({
    id: `e2e.${id}.${key}`,
    scenario: 'end-to-end',
    group,
    label,
    unit: 's',
    stat: summarize(s[key]),
    params,
  });
  const hand = f('hand', 'hand-written single ffmpeg');
  const pipeline = f('pipeline', 'service: upload finished → ready');
  const peer = f('peer', 'one ffmpeg per rung');
  const previewable = f('previewable', 'service: upload finished → previewable');
  const ratio = (key: string, label: string, numerator: Figure, denominator: Figure, op: '<=' | '>=', value: number): Figure =>
    ratioFigure({
      id: `e2e.${id}.${key}`,
      scenario: 'end-to-end',
      group: 'End to end ratios',
      label: `${id}: ${label}`,
      numerator,
      denominator,
      target: { op, value },
      params,
    });
  return [
    hand,
    pipeline,
    peer,
    previewable,
    ratio('vs-hand', 'ready / hand-written', pipeline, hand, '<=', 1.05),
    ratio('peer-speedup', 'per-rung / ready (speed-up)', peer, pipeline, '>=', 1.3),
    ratio('previewable-share', 'previewable / ready', previewable, pipeline, '<=', 0.25),
  ];
}

/**
 * What the user waits for, beside the best hand-written equivalent: a real tus upload into the running service
 * (API + worker as `npm start` runs them, with PostgreSQL, Redis, clamd and local storage), timed from the final
 * PATCH's answer until the row says ready — scan, strip, probe, ladder, packaging, artwork, publishing and the
 * database included — against one hand-written ffmpeg (decode once, split, HLS fMP4) and one ffmpeg per rung, with
 * the same rungs and x264 settings, interleaved and rotated per repeat so drift on a shared box hits all three.
 */
export const endToEndScenario: Scenario = {
  id: 'end-to-end',
  title: 'upload finished → ready through the service vs one hand-written ffmpeg vs one ffmpeg per rung',
  async run(ctx) {
    const sources = await prepareSources({
      specs: ctx.config.e2eSources,
      dir: ctx.sourcesDir,
      ffmpegPath: ctx.ffmpeg.ffmpegPath,
      ffprobePath: ctx.ffmpeg.ffprobePath,
      onGenerate: (id) => ctx.progress.step(this.id, `generating ${id}`),
    });
    const svc = await startE2eService({
      tmpRoot: ctx.workDir,
      // Sources up to 10 min at phone bitrates are bigger than the default upload limit (the dev clamd takes 4000 MiB).
      env: { X264_PRESET: ctx.config.preset, MAX_UPLOAD_BYTES: String(4000 * 1024 ** 2) },
      logFile: ctx.config.serviceLog,
    });
    const figures: Figure[] = [];
    try {
      // A service that has been up for a while: clamd has its engine loaded, pools and caches are warm. The first
      // upload of a fresh process pays that once (≈ 1 s of clamd start-up alone), which is not what users wait for.
      const warm = await prepareSources({
        specs: [WARM_UP],
        dir: ctx.sourcesDir,
        ffmpegPath: ctx.ffmpeg.ffmpegPath,
        ffprobePath: ctx.ffmpeg.ffprobePath,
      });
      for (const w of warm.values()) await throughService(svc, w);
      for (const src of sources.values()) {
        const job = (outDir: string): LadderJob => ({
          ffmpegPath: ctx.ffmpeg.ffmpegPath,
          ffprobePath: ctx.ffmpeg.ffprobePath,
          source: src,
          rungs: planLadder(src.probe),
          outDir,
          preset: ctx.config.preset,
          threads: 0,
        });
        const s = { hand: [] as number[], pipeline: [] as number[], peer: [] as number[], previewable: [] as number[] };
        const methods: Array<[string, () => Promise<void>]> = [
          ['hand', async () => void s.hand.push(await inTemp(ctx, (d) => handSingleMethod(job(d))))],
          [
            'pipeline',
            async () => {
              const r = await throughService(svc, src);
              s.pipeline.push(r.readySec);
              s.previewable.push(r.previewableSec);
            },
          ],
          ['peer', async () => void s.peer.push(await inTemp(ctx, (d) => perRungMethod(job(d))))],
        ];
        for (let rep = 0; rep < ctx.config.repeats; rep++) {
          for (let k = 0; k < methods.length; k++) {
            const [name, run] = methods[(rep + k) % methods.length]!;
            await run();
            const last = (name === 'pipeline' ? s.pipeline : name === 'hand' ? s.hand : s.peer).at(-1)!;
            ctx.progress.step(this.id, `${src.id} ${name} rep ${rep + 1}/${ctx.config.repeats}`, `${fmt(last)} s`);
          }
        }
        figures.push(...figuresFor(ctx, src, s));
      }
    } finally {
      await svc.close();
    }
    return figures;
  },
};
