import type { LadderRung, SourceProbe } from '../core/types.ts';

/**
 * Rungs after Apple's HLS authoring ladder (HLS Authoring Specification, "Video" table: 16:9 heights with their 30 fps
 * average bitrates), plus 234p for slow links. We stop at 1080p: the platform's sources are phone clips watched on
 * tablets, and 1440p/2160p would double storage for no visible gain on those screens.
 * `short` is the length of the frame's short side, so portrait sources get portrait rungs of the same quality.
 */
export const APPLE_LADDER: ReadonlyArray<{ readonly name: string; readonly short: number; readonly bitrate: number }> = [
  { name: '234p', short: 234, bitrate: 145_000 },
  { name: '360p', short: 360, bitrate: 730_000 },
  { name: '540p', short: 540, bitrate: 2_000_000 },
  { name: '720p', short: 720, bitrate: 3_000_000 },
  { name: '1080p', short: 1080, bitrate: 6_000_000 },
];

/**
 * maxrate over average. Apple asks that a segment's peak stays ≤ 200% of the average. With bufsize = maxrate (one
 * second of VBV buffer) a 6 s segment can reach at most maxrate + bufsize/6 = 1.75 × average.
 */
export const PEAK_FACTOR = 1.5;
/** VBV buffer in seconds of maxrate (see PEAK_FACTOR). */
export const BUFSIZE_SECONDS = 1;
export const MAX_FPS = 60;
/** Rates a VFR source is snapped to when made CFR. */
const STANDARD_RATES = [15, 24, 25, 30, 50, 60] as const;
/** Above this rate the bitrate grows by HIGH_FPS_FACTOR (Apple lists 1080p60 at ~1.3–1.5× the 30 fps bitrate). */
const HIGH_FPS_THRESHOLD = 31;
const HIGH_FPS_FACTOR = 1.5;

/** Rounds down to an even number: libx264 with yuv420p needs even sizes, and rounding down never upscales. */
const evenDown = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** Display size after applying the rotation flag (90/270 swap width and height); ffmpeg autorotates on decode. */
export function displaySize(p: SourceProbe): { width: number; height: number } {
  const swap = p.video.rotation === 90 || p.video.rotation === 270;
  return swap ? { width: p.video.height, height: p.video.width } : { width: p.video.width, height: p.video.height };
}

/**
 * Keeps the natural rate when ≤ 60; halves 100/120 fps sources (so motion cadence stays even) until they fit.
 * A VFR source's mean rate (e.g. 29.4) is snapped to the nearest standard rate so the CFR output is a clean rate.
 */
export function outputFps(sourceFps: number, variable = false): number {
  let fps = sourceFps > 0 && Number.isFinite(sourceFps) ? sourceFps : 30;
  while (fps > MAX_FPS + 0.01) fps /= 2;
  if (variable) fps = STANDARD_RATES.reduce((best, r) => (Math.abs(r - fps) < Math.abs(best - fps) ? r : best), 30);
  return Math.round(fps * 1000) / 1000;
}

/** Plans the ladder for a source: no upscaling, aspect kept, even dimensions, bitrate scaled for > 30 fps. */
export function planLadder(probe: SourceProbe): LadderRung[] {
  const { width, height } = displaySize(probe);
  const shortSide = Math.min(width, height);
  const longSide = Math.max(width, height);
  const portrait = height > width;
  const fps = outputFps(probe.video.fps, probe.video.variableFrameRate ?? false);
  const fpsFactor = fps > HIGH_FPS_THRESHOLD ? HIGH_FPS_FACTOR : 1;
  const make = (name: string, short: number, bitrate: number): LadderRung => {
    const s = evenDown(short);
    // Long side from the aspect ratio, rounded to even but never beyond the source.
    const long = Math.min(evenDown(longSide), Math.max(2, Math.round((s * longSide) / shortSide / 2) * 2));
    const videoBitrate = Math.round(bitrate * fpsFactor);
    return {
      name,
      width: portrait ? s : long,
      height: portrait ? long : s,
      fps,
      videoBitrate,
      maxBitrate: Math.round(videoBitrate * PEAK_FACTOR),
    };
  };
  // A rung counts if it is no larger than the source; 5% slack gives a 352-line source a "360p"-class rung (at 352).
  const rungs = APPLE_LADDER.filter((r) => r.short <= shortSide * 1.05).map((r) => make(r.name, Math.min(r.short, shortSide), r.bitrate));
  if (rungs.length > 0) return rungs;
  // Tiny source: one rung at its own size, bitrate scaled by pixel count against 234p.
  const base = APPLE_LADDER[0]!;
  const scaled = Math.max(64_000, Math.round((base.bitrate * (shortSide * shortSide)) / (base.short * base.short)));
  return [make(`${evenDown(shortSide)}p`, shortSide, scaled)];
}

/** Picture processing the source needs before scaling, decided from the probe. */
export interface PictureFixes {
  /** field_order says interlaced (tt/bb/tb/bt): deinterlace with bwdif before anything else. */
  readonly deinterlace: boolean;
  /** PQ or HLG transfer: tone-map to SDR BT.709 (zscale + tonemap), not just truncate to 8 bits. */
  readonly toneMap: boolean;
  /** Output rate; the fps filter makes VFR and high-rate sources CFR at this rate. */
  readonly fps: number;
}

const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);
const INTERLACED_ORDERS = new Set(['tt', 'bb', 'tb', 'bt']);

export function pictureFixes(probe: SourceProbe): PictureFixes {
  return {
    deinterlace: INTERLACED_ORDERS.has(probe.video.fieldOrder ?? ''),
    toneMap: HDR_TRANSFERS.has(probe.video.colorTransfer ?? ''),
    fps: outputFps(probe.video.fps, probe.video.variableFrameRate ?? false),
  };
}

/** Stereo AAC above this is re-encoded even on the quick path (the shared audio rendition is 128 kb/s). */
const MAX_COPY_AUDIO_BITRATE = 192_000;

/**
 * Quick path, first half (what the probe can tell): the source already is what the top rung would be, so the top rung
 * can be a stream copy. Keyframe placement is the second half, checked from packets (see keyframes.ts).
 * Returns the reason it cannot, or undefined when it can.
 */
export function remuxBlocker(probe: SourceProbe, top: LadderRung): string | undefined {
  const v = probe.video;
  const { width, height } = displaySize(probe);
  if (v.codec !== 'h264') return `video codec ${v.codec}`;
  if (v.pixFmt !== 'yuv420p') return `pixel format ${v.pixFmt}`;
  // A rotation flag would survive the copy while the other rungs are rotated pixels.
  if (v.rotation !== 0) return `rotation ${v.rotation}`;
  if (width !== top.width || height !== top.height) return `size ${width}x${height} is not the top rung's`;
  if (v.variableFrameRate) return 'variable frame rate';
  if (Math.abs(v.fps - top.fps) > 0.01) return `frame rate ${v.fps} is not the top rung's ${top.fps}`;
  const f = pictureFixes(probe);
  if (f.deinterlace || f.toneMap) return 'interlaced or HDR';
  if (v.bitRate === null || v.bitRate > top.maxBitrate) return `bitrate ${v.bitRate ?? 'unknown'} above ${top.maxBitrate}`;
  const a = probe.audio;
  if (a && (a.codec !== 'aac' || a.channels !== 2 || (a.bitRate ?? Infinity) > MAX_COPY_AUDIO_BITRATE)) return 'audio is not stereo AAC';
  return undefined;
}
