import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { LadderRung, SourceProbe } from '../core/types.ts';
import type { MediaInput } from '../media/allow-list.ts';
import {
  buildLadderPlan,
  plannedRenditions,
  PRESENTATION_OFFSET_SECONDS,
  SEGMENT_SECONDS,
  type FfmpegPlan,
  type PlannedRendition,
} from './command.ts';
import { pictureFixes, planLadder } from './ladder.ts';
import type { FfmpegPool } from './pool.ts';
import { runFfmpeg } from './run-ffmpeg.ts';
import type { StillSeries } from './stills.ts';
import type { WatermarkOptions } from './watermark.ts';

/** One time range of a chunked encode: its own ffmpeg run, its own segments. */
export interface Chunk {
  readonly index: number;
  readonly startSec: number;
  /** The last chunk's is what remains of the source (as the probe measured it). */
  readonly durationSec: number;
  /** The first segment's number (seg_%05d): the one-piece encode's number for the segment starting at startSec. */
  readonly firstSegmentNumber: number;
  /** True for the chunk that runs to the source's end (its ffmpeg reads to EOF, no cut at the end). */
  readonly last: boolean;
}

export interface ChunkPlanOptions {
  /** Length of every chunk but the last; a positive multiple of SEGMENT_SECONDS. Default 60 s. */
  readonly chunkSec?: number;
  /** A remainder shorter than this joins the chunk before it rather than running alone. Default SEGMENT_SECONDS. */
  readonly minChunkSec?: number;
  /** Sources shorter than this are one chunk: each ffmpeg start costs a decode pre-roll and an encoder ramp-up. Default 2 × chunkSec. */
  readonly minSourceSec?: number;
}

/** Splits a source's duration into chunks whose boundaries are segment boundaries of the one-piece encode. */
export function planChunks(durationSec: number, o: ChunkPlanOptions = {}): Chunk[] {
  const chunkSec = o.chunkSec ?? 60;
  if (!(chunkSec > 0) || chunkSec % SEGMENT_SECONDS !== 0)
    throw new RangeError(`chunkSec ${chunkSec} is not a positive multiple of ${SEGMENT_SECONDS} s`);
  const minChunk = o.minChunkSec ?? SEGMENT_SECONDS;
  const minSource = o.minSourceSec ?? 2 * chunkSec;
  const starts: number[] = [0];
  if (durationSec >= minSource) {
    for (let s = chunkSec; durationSec - s >= minChunk; s += chunkSec) starts.push(s);
  }
  return starts.map((startSec, index) => {
    const last = index === starts.length - 1;
    return {
      index,
      startSec,
      durationSec: last ? Math.max(0, durationSec - startSec) : chunkSec,
      firstSegmentNumber: startSec / SEGMENT_SECONDS,
      last,
    };
  });
}

/** Where a chunk's time range ends on the source's timeline; undefined for the last one, which runs to the source's end. */
export const chunkEndSec = (c: Chunk): number | undefined => (c.last ? undefined : c.startSec + c.durationSec);

interface EncodeCommon {
  readonly source: MediaInput;
  readonly probe: SourceProbe;
  /** Empty directory that receives the rendition sub-directories; the caller removes it. */
  readonly outDir: string;
  readonly ffmpegPath: string;
  readonly logger: Logger;
  /** Run ffmpeg on this worker-thread pool; default: supervised from the calling thread. */
  readonly pool?: FfmpegPool;
  readonly threads?: number;
  /** Niceness of ffmpeg (FFMPEG_NICE); default 0. */
  readonly niceness?: number;
  readonly onProgress?: (percent: number) => void;
  /** Abort = cancel (SIGTERM, then SIGKILL); rejects with TRANSCODE_CANCELLED. */
  readonly signal?: AbortSignal;
}

export interface VideoChunkOptions extends EncodeCommon {
  readonly chunk: Chunk;
  /** x264 preset; default veryfast. */
  readonly preset?: string;
  /** Override the planned ladder (benchmarks, tests); every chunk of one video must get the same. */
  readonly rungs?: readonly LadderRung[];
  /** Still frames tapped off this chunk's decode (the chunk's share of posters and storyboard); times on the source's timeline. */
  readonly stills?: readonly StillSeries[];
  /** Overlay burned into every rung, as in the one-piece encode (watermark.ts); default none. */
  readonly watermark?: WatermarkOptions;
}

export interface EncodedOutput {
  readonly outDir: string;
  /** What ffmpeg wrote: one sub-directory per rendition, each with ffmpeg's EVENT playlist, init.mp4 and segments. */
  readonly renditions: readonly PlannedRendition[];
  readonly plan: FfmpegPlan;
}

interface RunPlan {
  readonly plan: FfmpegPlan;
  readonly renditions: PlannedRendition[];
  readonly stills?: readonly StillSeries[];
}

/** Every video rung of one chunk (no audio: that is encoded once, see planAudioEncode), as the one-piece ladder encodes them. */
export function planVideoChunk(o: VideoChunkOptions): RunPlan {
  const rungs = o.rungs ?? planLadder(o.probe);
  const c = o.chunk;
  const plan = buildLadderPlan({
    input: o.source,
    outDir: o.outDir,
    rungs,
    hasAudio: false,
    fixes: pictureFixes(o.probe),
    // A stream copy cannot start or end between the source's keyframes: chunks always encode.
    copyTopRung: false,
    preset: o.preset,
    threads: o.threads,
    niceness: o.niceness,
    window: { startSec: c.startSec, endSec: chunkEndSec(c), firstSegmentNumber: c.firstSegmentNumber },
    // After the window's trim the frames carry source times, so a series planned on the source's timeline taps the
    // same pictures as in the one-piece run.
    stills: o.stills,
    watermark: o.watermark,
  });
  return { plan, renditions: plannedRenditions(rungs, false), stills: o.stills };
}

/** The whole source's audio as the one-piece run encodes it: one AAC stream, so there is no priming gap at any seam. */
export function planAudioEncode(o: EncodeCommon): RunPlan {
  const plan = buildLadderPlan({ input: o.source, outDir: o.outDir, rungs: [], hasAudio: true, threads: o.threads, niceness: o.niceness });
  return { plan, renditions: plannedRenditions([], true) };
}

async function run(o: EncodeCommon, p: RunPlan, durationSec: number): Promise<EncodedOutput> {
  // ffmpeg's HLS and image2 muxers create no directories.
  const dirs = [...p.renditions.map((r) => path.join(o.outDir, r.dir)), ...(p.stills ?? []).map((s) => s.dir)];
  await Promise.all(dirs.map((dir) => mkdir(dir, { recursive: true })));
  const opts = { durationSec, onProgress: o.onProgress, signal: o.signal };
  if (o.pool) await o.pool.run(p.plan, opts);
  else await runFfmpeg({ ffmpegPath: o.ffmpegPath, plan: p.plan, logger: o.logger, ...opts });
  return { outDir: o.outDir, renditions: p.renditions, plan: p.plan };
}

/** Encodes one chunk's video rungs into outDir. Errors: TRANSCODE_SOURCE_CORRUPT, TRANSCODE_CANCELLED, TRANSCODE_FFMPEG_FAILED. */
export function encodeVideoChunk(o: VideoChunkOptions): Promise<EncodedOutput> {
  o.logger.info({ chunk: o.chunk }, 'chunk encode planned');
  // ffmpeg reports the output's time, which runs on the source's timeline from startSec (+ the presentation offset).
  const c = o.chunk;
  const end = c.startSec + c.durationSec + PRESENTATION_OFFSET_SECONDS;
  const span = Math.max(c.durationSec, 0.001);
  const onProgress = o.onProgress && ((p: number) => o.onProgress?.(Math.max(0, ((p / 100) * end - (end - span)) / span) * 100));
  return run({ ...o, onProgress }, planVideoChunk(o), end);
}

/** Encodes the source's audio rendition into outDir/audio. Rejects when the source has no audio. */
export function encodeAudio(o: EncodeCommon): Promise<EncodedOutput> {
  if (!o.probe.audio) return Promise.reject(new RangeError('the source has no audio stream'));
  return run(o, planAudioEncode(o), o.probe.durationSec);
}
