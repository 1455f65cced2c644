import type { LadderRung, SourceProbe } from '../core/types.ts';

/**
 * Rungs after Apple's HLS authoring ladder (16:9 heights with their 30 fps average bitrates), plus 234p for slow links.
 * `short` is the length of the frame's short side, so portrait sources get portrait rungs of the same quality.
 */
export const APPLE_LADDER: ReadonlyArray<{ readonly name: string; readonly short: number; readonly bitrate: number }> = [
  { name: '234p', short: 234, bitrate: 145_000 },
  { name: '360p', short: 360, bitrate: 730_000 },
  { name: '540p', short: 540, bitrate: 2_000_000 },
  { name: '720p', short: 720, bitrate: 3_000_000 },
  { name: '1080p', short: 1080, bitrate: 6_000_000 },
];

/** Peak (maxrate) over average: Apple asks peak ≤ 200% of average; 1.5 leaves headroom for the VBV. */
export const PEAK_FACTOR = 1.5;
export const MAX_FPS = 60;

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);

/** Display size after applying the rotation flag (90/270 swap width and height). */
export function displaySize(p: SourceProbe): { width: number; height: number } {
  const swap = p.video.rotation === 90 || p.video.rotation === 270;
  return swap ? { width: p.video.height, height: p.video.width } : { width: p.video.width, height: p.video.height };
}

/** Keeps the natural rate when ≤ 60; halves 100/120 fps sources (so motion cadence stays even) until they fit. */
export function outputFps(sourceFps: number): number {
  let fps = sourceFps > 0 && Number.isFinite(sourceFps) ? sourceFps : 30;
  while (fps > MAX_FPS + 0.01) fps /= 2;
  return Math.round(fps * 1000) / 1000;
}

/** Plans the ladder for a source: no upscaling, aspect kept, even dimensions, bitrate scaled for > 30 fps. */
export function planLadder(probe: SourceProbe): LadderRung[] {
  const { width, height } = displaySize(probe);
  const shortSide = Math.min(width, height);
  const portrait = height > width;
  const fps = outputFps(probe.video.fps);
  const fpsFactor = fps > 31 ? 1.5 : 1;
  const make = (name: string, short: number, bitrate: number): LadderRung => {
    const long = even((short * Math.max(width, height)) / shortSide);
    const s = even(short);
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
  // A rung counts if it is no larger than the source; allow 5% slack so a 352-line source still gets "360p"-class.
  const rungs = APPLE_LADDER.filter((r) => r.short <= shortSide * 1.05).map((r) => make(r.name, Math.min(r.short, shortSide), r.bitrate));
  if (rungs.length > 0) return rungs;
  // Tiny source: one rung at its own size, bitrate scaled by pixel count against 234p.
  const base = APPLE_LADDER[0]!;
  const scaled = Math.max(64_000, Math.round((base.bitrate * (shortSide * shortSide)) / (base.short * base.short)));
  return [make(`${even(shortSide)}p`, shortSide, scaled)];
}
