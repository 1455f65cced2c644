import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FfmpegOutput } from './command.ts';

/**
 * A series of still frames tapped off the ladder's one decode (storyboard tiles, poster candidates): one more output of
 * the shared `split`, thinned to a few frames by the fps filter, so the stills cost no decode of their own. Frame k
 * is the picture on screen at `startSec + k * intervalSec` of the video's presentation timeline.
 */
export interface StillSeries {
  /** Filter-graph label and file-name prefix; lower-case letters only (labels share the graph with `s0`, `v0`, …). */
  readonly name: string;
  /** Directory that receives `<name>_00001.tiff`, … in time order; transcodeLadder creates it (image2 does not). */
  readonly dir: string;
  /** Presentation time of the first frame, seconds, ≥ 0. Whole milliseconds (it is written into the filter). */
  readonly startSec: number;
  /** Seconds between frames, > 0. Whole milliseconds. */
  readonly intervalSec: number;
  /** Frame width in px; the height follows the aspect ratio, rounded to even. */
  readonly width: number;
  /** `exact`: every frame is `width` wide (sprite tiles must all be the same); `shrink`: only ever scaled down. */
  readonly fit: 'exact' | 'shrink';
}

export interface Still {
  readonly file: string;
  /** Presentation time of the frame, seconds from the start of the video. */
  readonly timeSec: number;
}

const ms = (sec: number): number => Math.round(sec * 1000);

function checked(s: StillSeries): StillSeries {
  if (!/^[a-z]+$/.test(s.name)) throw new RangeError(`still series name ${JSON.stringify(s.name)} is not lower-case letters`);
  if (ms(s.intervalSec) <= 0 || ms(s.startSec) < 0) throw new RangeError(`still series ${s.name}: bad start or interval`);
  return s;
}

/**
 * The filter branch of one series, reading the split output `input`. The frames reaching it are already the ladder's
 * (deinterlaced, tone-mapped, CFR) and their timestamps start at 0: the muxers' -output_ts_offset is applied after
 * the filter graph, so a frame's pts here is its presentation time in the video.
 * - fps with `round=up` maps a frame at t to tick ceil(t / interval) and emits, per tick, the last frame mapped to
 *   it: the picture on screen at the tick itself (the default `near` would take the one half an interval later);
 * - `start_time=0` puts tick 0 at time 0, padding with the first frame if the video starts late;
 * - the setpts shift before it moves the tick grid to startSec (fps rounds its own start_time onto the grid).
 */
export function stillBranch(input: string, series: StillSeries): string {
  const s = checked(series);
  const shift = ms(s.startSec) > 0 ? `setpts=PTS-${ms(s.startSec)}/(1000*TB),` : '';
  const scale = s.fit === 'exact' ? `scale=${s.width}:-2` : `scale='min(${s.width},iw)':-2`;
  return `[${input}]${shift}fps=fps=1000/${ms(s.intervalSec)}:start_time=0:round=up,${scale}[${s.name}]`;
}

/**
 * One uncompressed RGB TIFF per frame. Lossless, so the packager compresses each picture once, to the published JPEG
 * or WebP; uncompressed because deflating the candidates as PNG cost the ladder run about 0.8 s of CPU on a noisy
 * 30 s 1080p source (raw TIFF: under 0.05 s), and sharp then reads them without inflating either. They live seconds.
 * Passthrough keeps ffmpeg's output frame-rate logic from duplicating or dropping frames: one frame is one file.
 */
export function stillOutput(series: StillSeries): FfmpegOutput {
  const s = checked(series);
  return {
    path: path.join(s.dir, `${s.name}_%05d.tiff`),
    // atomic_writing: each frame appears under its name only once whole, so it can be read while ffmpeg runs.
    // -threads 1: the TIFF encoder's frame threads hand each frame over only when the next one arrives, an interval
    // later (the last poster candidate came out at ffmpeg's exit); a raw TIFF costs a copy, nothing to thread.
    options: [
      ...['-map', `[${s.name}]`, '-an', '-fps_mode', 'passthrough', '-pix_fmt', 'rgb24', '-compression_algo', 'raw'],
      ...['-threads', '1', '-atomic_writing', '1'],
    ],
  };
}

/** The frames ffmpeg wrote for `series`, in time order, at most `limit` (the fps filter may add one at the very end). */
export async function listStills(series: StillSeries, limit: number): Promise<Still[]> {
  const prefix = `${series.name}_`;
  const names = (await readdir(series.dir)).filter((f) => f.startsWith(prefix) && f.endsWith('.tiff')).sort();
  return names.slice(0, limit).map((f, k) => ({
    file: path.join(series.dir, f),
    timeSec: (ms(series.startSec) + k * ms(series.intervalSec)) / 1000,
  }));
}
