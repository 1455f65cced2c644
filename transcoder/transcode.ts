import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { LadderRung, SourceProbe } from '../core/types.ts';
import type { MediaInput } from '../media/allow-list.ts';
import { buildLadderPlan, GOP_SECONDS, PIECES_DIR, plannedRenditions, type FfmpegPlan, type PlannedRendition } from './command.ts';
import { keyframesAligned, keyframeTimes } from './keyframes.ts';
import { pictureFixes, planLadder, remuxBlocker, type PictureFixes } from './ladder.ts';
import type { FfmpegPool } from './pool.ts';
import { runFfmpeg } from './run-ffmpeg.ts';
import type { StillSeries } from './stills.ts';
import type { WatermarkOptions } from './watermark.ts';

export interface PlanTranscodeOptions {
  /** The source as the media layer vetted it (see media/allow-list.ts mediaInput). */
  readonly source: MediaInput;
  readonly probe: SourceProbe;
  /** Directory that receives one sub-directory per rendition. */
  readonly outDir: string;
  /** Needed for the quick-path keyframe check. */
  readonly ffprobePath: string;
  /** x264 preset; default veryfast. */
  readonly preset?: string;
  /** ffmpeg -threads per encoder; default 0 (automatic). */
  readonly threads?: number;
  /** Niceness of ffmpeg (FFMPEG_NICE); default 0. */
  readonly niceness?: number;
  /** Override the planned ladder (benchmarks, tests). */
  readonly rungs?: readonly LadderRung[];
  /** Allow the quick path (stream-copy the top rung when the source already fits it); default true. */
  readonly allowRemux?: boolean;
  /** Still frames to take from the same decode (see stills.ts); their directories are created. Default none. */
  readonly stills?: readonly StillSeries[];
  /** Overlay burned into every rung (watermark.ts); default none. */
  readonly watermark?: WatermarkOptions;
  /** One file per GOP for a packager that joins them (command.ts LadderCommandOptions.pieces); default false. */
  readonly pieces?: boolean;
}

export interface TranscodePlan {
  readonly plan: FfmpegPlan;
  readonly rungs: readonly LadderRung[];
  readonly renditions: readonly PlannedRendition[];
  readonly fixes: PictureFixes;
  /** True when the top rung (and the audio) are stream copies. */
  readonly remuxedTopRung: boolean;
  /** Why the quick path was not taken (for logs), undefined when it was. */
  readonly remuxBlockedBy: string | undefined;
}

/** What the options and the probe alone say against the quick path (keyframes are read after), or undefined. */
export function quickPathProbeBlocker(
  o: Pick<PlanTranscodeOptions, 'allowRemux' | 'watermark' | 'probe'>,
  rungs: readonly LadderRung[],
): string | undefined {
  if (o.allowRemux === false) return 'disabled';
  if (o.watermark) return 'watermark';
  const top = rungs[rungs.length - 1];
  if (!top) return 'no rungs';
  return remuxBlocker(o.probe, top);
}

/** Why the top rung cannot be a stream copy, or undefined when it can (probe rules first, then keyframes). */
async function quickPathBlocker(o: PlanTranscodeOptions, rungs: readonly LadderRung[], fps: number): Promise<string | undefined> {
  const blocker = quickPathProbeBlocker(o, rungs);
  if (blocker) return blocker;
  const keys = await keyframeTimes(o.source, { ffprobePath: o.ffprobePath });
  return keyframesAligned(keys, o.probe.durationSec, GOP_SECONDS, fps) ? undefined : `source keyframes not every ${GOP_SECONDS} s`;
}

/** Plans the whole run (ladder, picture fixes, quick path) as data; nothing is written. */
export async function planTranscode(o: PlanTranscodeOptions): Promise<TranscodePlan> {
  const rungs = o.rungs ?? planLadder(o.probe);
  const fixes = pictureFixes(o.probe);
  const hasAudio = o.probe.audio !== null;
  const remuxBlockedBy = await quickPathBlocker(o, rungs, fixes.fps);
  const plan = buildLadderPlan({
    input: o.source,
    outDir: o.outDir,
    rungs,
    hasAudio,
    fixes,
    copyTopRung: remuxBlockedBy === undefined,
    preset: o.preset,
    threads: o.threads,
    niceness: o.niceness,
    stills: o.stills,
    watermark: o.watermark,
    pieces: o.pieces,
  });
  return {
    plan,
    rungs,
    renditions: plannedRenditions(rungs, hasAudio),
    fixes,
    remuxedTopRung: remuxBlockedBy === undefined,
    remuxBlockedBy,
  };
}

export interface TranscodeLadderOptions extends PlanTranscodeOptions {
  readonly ffmpegPath: string;
  readonly logger: Logger;
  /** Run ffmpeg on this worker-thread pool; default: supervised from the calling thread. */
  readonly pool?: FfmpegPool;
  /** 0–100 from ffmpeg's time, never decreasing. */
  readonly onProgress?: (percent: number) => void;
  /** Abort = cancel (SIGTERM, then SIGKILL); rejects with TRANSCODE_CANCELLED. */
  readonly signal?: AbortSignal;
  readonly onSpawn?: (pid: number) => void;
}

export interface TranscodeResult extends TranscodePlan {
  readonly outDir: string;
}

/**
 * Decodes the source once and writes every rung plus one shared audio rendition as fMP4 HLS into outDir (which the
 * caller owns and removes), and the still series as TIFFs into their directories.
 * Errors: TRANSCODE_SOURCE_CORRUPT, TRANSCODE_CANCELLED, TRANSCODE_FFMPEG_FAILED.
 */
export async function transcodeLadder(o: TranscodeLadderOptions): Promise<TranscodeResult> {
  const t = await planTranscode(o);
  const renditionDirs = t.renditions.map((r) => path.join(o.outDir, r.dir, o.pieces ? PIECES_DIR : ''));
  const dirs = [...renditionDirs, ...(o.stills ?? []).map((s) => s.dir)];
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  o.logger.info(
    {
      rungs: t.rungs.map((r) => r.name),
      fixes: t.fixes,
      remux: t.remuxedTopRung,
      remuxBlockedBy: t.remuxBlockedBy,
      stills: (o.stills ?? []).map((s) => s.name),
    },
    'transcode planned',
  );
  const run = { durationSec: o.probe.durationSec, onProgress: o.onProgress, signal: o.signal, onSpawn: o.onSpawn };
  if (o.pool) await o.pool.run(t.plan, run);
  else await runFfmpeg({ ffmpegPath: o.ffmpegPath, plan: t.plan, logger: o.logger, ...run });
  return { ...t, outDir: o.outDir };
}
