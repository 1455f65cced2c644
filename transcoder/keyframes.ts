import type { MediaInput } from '../media/allow-list.ts';
import { runFfprobe } from '../media/ffprobe.ts';

export interface KeyframeOptions {
  readonly ffprobePath: string;
  /** Kill ffprobe after this many ms; default 60 s (it only reads packet headers, no decoding). */
  readonly timeoutMs?: number;
}

/**
 * Presentation times (s) of the video keyframes, relative to the first video packet, sorted. Reads packet flags
 * (`K`) from the container index, so it costs a demux, never a decode.
 */
export async function keyframeTimes(input: MediaInput, o: KeyframeOptions): Promise<number[]> {
  const stdout = await runFfprobe(input, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0'], {
    ffprobePath: o.ffprobePath,
    timeoutMs: o.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
    failureCode: 'TRANSCODE_PROBE_FAILED',
  });
  const all: number[] = [];
  const keys: number[] = [];
  for (const line of stdout.split('\n')) {
    const [pts, flags] = line.split(',');
    const t = Number(pts);
    if (!pts || !Number.isFinite(t)) continue;
    all.push(t);
    if (flags?.includes('K')) keys.push(t);
  }
  const start = Math.min(...all);
  return keys.map((t) => Math.round((t - start) * 1e6) / 1e6).sort((a, b) => a - b);
}

/**
 * Quick-path rule: a stream-copied rung lines up with the encoded rungs only if the source has a keyframe at every
 * multiple of `gopSeconds` (where the encoded rungs get their forced IDRs). The HLS muxer cuts at the first keyframe
 * at or after each target time, so a keyframe may sit up to half a frame late (timestamp rounding), never early: one
 * at 5.99 s would not be cut at and the copy's segment would end at a later keyframe than the encoded rungs'.
 * Extra keyframes in between (scene cuts) are harmless for the same reason.
 */
export function keyframesAligned(keyframes: readonly number[], durationSec: number, gopSeconds: number, fps: number): boolean {
  const halfFrame = 0.5 / fps;
  for (let target = 0; target < durationSec - halfFrame; target += gopSeconds) {
    if (!keyframes.some((k) => k >= target - 1e-6 && k < target + halfFrame)) return false;
  }
  return true;
}
