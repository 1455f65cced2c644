import { mkdir } from 'node:fs/promises';
import type { LadderRung, SourceProbe } from '../core/types.ts';
import { buildLadderPlan, plannedRenditions, type PlannedRendition } from './command.ts';
import { planLadder } from './ladder.ts';
import { runFfmpeg, type Logger } from './run-ffmpeg.ts';

export interface TranscodeLadderOptions {
  readonly ffmpegPath: string;
  readonly source: string;
  readonly probe: SourceProbe;
  /** Empty directory that receives the renditions; the caller owns (and removes) it. */
  readonly outDir: string;
  readonly logger: Logger;
  /** x264 preset; default veryfast. */
  readonly preset?: string;
  /** ffmpeg threads per encoder; 0 = automatic. */
  readonly threads?: number;
  readonly onProgress?: (percent: number) => void;
  readonly signal?: AbortSignal;
  readonly onSpawn?: (pid: number) => void;
  /** Override the planned ladder (benchmarks, tests). */
  readonly rungs?: readonly LadderRung[];
}

export interface TranscodeResult {
  readonly outDir: string;
  readonly rungs: readonly LadderRung[];
  readonly renditions: readonly PlannedRendition[];
}

/** Decodes the source once and writes every rung plus one shared audio rendition as fMP4 HLS into outDir. */
export async function transcodeLadder(o: TranscodeLadderOptions): Promise<TranscodeResult> {
  const rungs = o.rungs ?? planLadder(o.probe);
  const hasAudio = o.probe.audio !== null;
  const renditions = plannedRenditions(rungs, hasAudio);
  await Promise.all(renditions.map((r) => mkdir(`${o.outDir}/${r.dir}`, { recursive: true })));
  const plan = buildLadderPlan({ input: o.source, outDir: o.outDir, rungs, hasAudio, preset: o.preset, threads: o.threads });
  await runFfmpeg({
    ffmpegPath: o.ffmpegPath,
    plan,
    logger: o.logger,
    durationSec: o.probe.durationSec,
    onProgress: o.onProgress,
    signal: o.signal,
    onSpawn: o.onSpawn,
  });
  return { outDir: o.outDir, rungs, renditions };
}
