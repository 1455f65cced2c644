import os from 'node:os';
import { startE2eService } from '../e2e-service.ts';
import { prepareSources, type SourceSpec } from '../sources.ts';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario } from '../types.ts';
import { throughService } from './end-to-end.ts';

/** A tiny clip pushed through each fresh service before anything is timed (clamd engine, pools). */
const WARM_UP: SourceSpec = { content: 'grain', width: 320, height: 180, fps: 30, durationSec: 2, bitrateKbps: 500 };

/** One setting of the scenario: how many worker processes, and whether the source is chunked. */
interface Setup {
  readonly key: string;
  readonly label: string;
  readonly workers: number;
  readonly chunked: boolean;
}

/**
 * One long upload, upload finished → ready, through the real service with 1, 2 (and 4 where the machine has the
 * cores) worker processes, each pinned to one core with one x264 thread, so a worker stands for one more host. The
 * chunked runs split the source (CHUNK_SECONDS); one more run on one worker does not, to show what chunking costs.
 */
export const scaleOutScenario: Scenario = {
  id: 'scale-out',
  title: 'Scale-out: one long upload on 1, 2, 4 one-core workers',
  async run(ctx) {
    const so = ctx.config.scaleOut;
    if (!so) return [];
    const sources = await prepareSources({
      specs: [so.source, WARM_UP],
      dir: ctx.sourcesDir,
      ffmpegPath: ctx.ffmpeg.ffmpegPath,
      ffprobePath: ctx.ffmpeg.ffprobePath,
      onGenerate: (id) => ctx.progress.step(this.id, `generating ${id}`),
    });
    const [src, warm] = [...sources.values()];
    const cpus = os.availableParallelism();
    const setups: Setup[] = [
      { key: 'w1-one-piece', label: '1 worker, one piece', workers: 1, chunked: false },
      ...[1, 2, 4]
        .filter((n) => n <= cpus)
        .map((n): Setup => ({ key: `w${n}`, label: `${n} worker${n > 1 ? 's' : ''}, chunked`, workers: n, chunked: true })),
    ];
    const secs = new Map<string, number[]>(setups.map((s) => [s.key, []]));
    // One service per setting, all repeats through it: starting a service (database, clamd, processes) costs more
    // than a short upload, and the warm-up upload makes the first timed run like the others.
    for (const s of setups) {
      const svc = await startE2eService({
        tmpRoot: ctx.workDir,
        env: {
          X264_PRESET: ctx.config.preset,
          MAX_UPLOAD_BYTES: String(4000 * 1024 ** 2),
          FFMPEG_THREADS: '1',
          WORKER_CONCURRENCY: '1',
          CHUNK_SECONDS: s.chunked ? String(so.chunkSec) : '0',
          CHUNK_MIN_SOURCE_SEC: String(so.chunkSec * 2),
          // This scenario measures chunking itself, on one worker too: chunk whatever the slots.
          CHUNK_MIN_SLOTS: '1',
        },
        logFile: ctx.config.serviceLog,
        workers: Array.from({ length: s.workers }, (_, i) => ({ cpus: String(i % cpus) })),
      });
      try {
        await throughService(svc, warm!);
        for (let rep = 0; rep < ctx.config.repeats; rep++) {
          const r = await throughService(svc, src!);
          secs.get(s.key)!.push(r.readySec);
          ctx.progress.step(this.id, `${src!.id} ${s.label} rep ${rep + 1}/${ctx.config.repeats}`, `${fmt(r.readySec)} s`);
        }
      } finally {
        await svc.close();
      }
    }
    const params = { source: src!.id, chunkSec: so.chunkSec };
    const figures = setups.map((s): Figure => ({
      id: `scaleout.${src!.id}.${s.key}`,
      scenario: this.id,
      group: `Scale-out ${src!.id}: upload finished → ready (s)`,
      label: s.label,
      unit: 's',
      stat: summarize(secs.get(s.key)!),
      params: { ...params, workers: s.workers, chunked: s.chunked },
    }));
    const by = new Map(figures.map((f, i) => [setups[i]!.key, f]));
    const ratio = (key: string, label: string, numerator: Figure, denominator: Figure, op: '<=' | '>=', value: number): Figure =>
      ratioFigure({
        id: `scaleout.${src!.id}.${key}`,
        scenario: this.id,
        group: 'Scale-out ratios',
        label: `${src!.id}: ${label}`,
        numerator,
        denominator,
        target: { op, value },
        params,
      });
    const out = [...figures, ratio('chunk-cost', 'chunked / one piece, 1 worker', by.get('w1')!, by.get('w1-one-piece')!, '<=', 1.05)];
    if (by.has('w2')) out.push(ratio('speedup-2', '1 worker / 2 workers (speed-up)', by.get('w1')!, by.get('w2')!, '>=', 1.8));
    if (by.has('w4')) out.push(ratio('speedup-4', '1 worker / 4 workers (speed-up)', by.get('w1')!, by.get('w4')!, '>=', 3.4));
    return out;
  },
};
