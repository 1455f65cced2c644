import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseMediaPlaylist } from './media-playlist.ts';

export interface MeasuredRendition {
  /** Peak segment bitrate in bits/s (HLS BANDWIDTH, Apple authoring spec §9). */
  readonly peakBitrate: number;
  /** Total media bits over total duration (AVERAGE-BANDWIDTH). */
  readonly averageBitrate: number;
  readonly durationSec: number;
  readonly sizeBytes: number;
  readonly segmentCount: number;
}

/** Measures a rendition from its playlist and the segment files it points to. */
export async function measureRendition(playlistFile: string): Promise<MeasuredRendition> {
  const dir = path.dirname(playlistFile);
  const pl = parseMediaPlaylist(await readFile(playlistFile, 'utf8'));
  const initSize = pl.mapUri ? (await stat(path.join(dir, pl.mapUri))).size : 0;
  const sized: Array<{ duration: number; size: number }> = [];
  for (const seg of pl.segments) sized.push({ duration: seg.duration, size: (await stat(path.join(dir, seg.uri))).size });
  return measureSegments(sized, initSize);
}

/** The same measures from segment sizes already known (a chunked encode's results). */
export function measureSegments(
  segments: ReadonlyArray<{ readonly duration: number; readonly size: number }>,
  initSize: number,
): MeasuredRendition {
  let peak = 0;
  let bits = 0;
  let duration = 0;
  let size = initSize;
  for (const seg of segments) {
    size += seg.size;
    bits += seg.size * 8;
    duration += seg.duration;
    // A very short tail segment would overstate the peak; measure it over at least one second.
    peak = Math.max(peak, (seg.size * 8) / Math.max(seg.duration, 1));
  }
  return {
    peakBitrate: Math.ceil(peak),
    averageBitrate: duration > 0 ? Math.ceil(bits / duration) : 0,
    durationSec: duration,
    sizeBytes: size,
    segmentCount: segments.length,
  };
}
