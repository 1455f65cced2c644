import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { mediaTimescale, trackDefaults } from './boxes.ts';
import { indexSegment, type SegmentIndex } from './iframes.ts';
import type { PackageIndex } from './package.ts';
import { parseMediaPlaylist, type MediaPlaylist } from './media-playlist.ts';

/** Stable codes of package rule violations; ops tooling and tests match on these, never on the detail text. */
export const VIOLATION_CODES = [
  'PKG_MASTER_UNREADABLE',
  'PKG_MASTER_TAG_MISSING',
  'PKG_VARIANT_ATTRIBUTE_MISSING',
  'PKG_AUDIO_GROUP_MISSING',
  'PKG_VARIANT_ORDER',
  'PKG_PLAYLIST_UNREADABLE',
  'PKG_MEDIA_TAG_MISSING',
  'PKG_NOT_VOD',
  'PKG_SEGMENT_EXCEEDS_TARGET',
  'PKG_TARGET_DURATION_TOO_LONG',
  'PKG_SEGMENT_NOT_GOP_MULTIPLE',
  'PKG_SEGMENT_MISSING',
  'PKG_BANDWIDTH_MISMATCH',
  'PKG_AVERAGE_BANDWIDTH_MISMATCH',
  'PKG_CODECS_MISMATCH',
  'PKG_RUNGS_MISALIGNED',
  'PKG_IFRAME_PLAYLIST_MISSING',
  'PKG_IFRAME_RANGE_INVALID',
  'PKG_IFRAME_DURATION_MISMATCH',
  'PKG_IFRAME_BANDWIDTH_MISMATCH',
] as const;
export type ViolationCode = (typeof VIOLATION_CODES)[number];

export interface Violation {
  readonly code: ViolationCode;
  /** Playlist or segment path relative to the package root. */
  readonly file: string;
  readonly detail: string;
}

export interface ValidatePackageOptions {
  /** Longest allowed EXT-X-TARGETDURATION in seconds; default 6 (Apple's recommendation, our transcoder's setting). */
  readonly targetDurationSec?: number;
  /** GOP length in seconds; every segment but the last must end on this grid. Default 2. */
  readonly gopSec?: number;
  /** A first GOP this long may end the first segment off the grid (the short first GOP of a pieces encode). Default 1. */
  readonly firstGopSec?: number;
  /** Allowed relative difference between declared and measured bitrates; default 0.10. */
  readonly bitrateTolerance?: number;
  /** Master file name in the package root; default master.m3u8. */
  readonly masterName?: string;
  /**
   * Segment indexes already in memory (the packager made them from the bytes it published): those segments are not
   * read again. Default: every segment is read from disk.
   */
  readonly known?: PackageIndex;
}

export type Report = (code: ViolationCode, file: string, detail: string) => void;

export interface CheckedMedia {
  readonly rel: string;
  readonly playlist: MediaPlaylist;
  /** Per-segment bits/s (over at least 1 s, like measure.ts) when every segment exists. */
  readonly peak: number;
  readonly average: number;
  readonly durationSec: number;
  /** Sum of every EXTINF, whether or not the segment exists. */
  readonly listedSec: number;
  /** Bytes of each segment, in playlist order (undefined when missing). */
  readonly sizes: ReadonlyArray<number | undefined>;
}

const TAGS: ReadonlyArray<[keyof MediaPlaylist, string]> = [
  ['version', 'EXT-X-VERSION'],
  ['targetDuration', 'EXT-X-TARGETDURATION'],
  ['mapUri', 'EXT-X-MAP'],
  ['independentSegments', 'EXT-X-INDEPENDENT-SEGMENTS'],
  ['endList', 'EXT-X-ENDLIST'],
];

export async function readPlaylist(root: string, rel: string, report: Report): Promise<MediaPlaylist | undefined> {
  try {
    return parseMediaPlaylist(await readFile(path.join(root, rel), 'utf8'));
  } catch (err) {
    report('PKG_PLAYLIST_UNREADABLE', rel, err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/** Tags, durations vs target, GOP multiples and segment presence of one media playlist; measures its bitrates. */
export async function checkMediaPlaylist(
  root: string,
  rel: string,
  kind: 'video' | 'audio',
  o: Required<Omit<ValidatePackageOptions, 'known'>>,
  report: Report,
): Promise<CheckedMedia | undefined> {
  const pl = await readPlaylist(root, rel, report);
  if (!pl) return undefined;
  for (const [key, tag] of TAGS) if (!pl[key]) report('PKG_MEDIA_TAG_MISSING', rel, `missing ${tag}`);
  if (pl.playlistType !== 'VOD') report('PKG_NOT_VOD', rel, `EXT-X-PLAYLIST-TYPE is ${pl.playlistType ?? 'absent'}, want VOD`);
  if (pl.targetDuration > o.targetDurationSec)
    report('PKG_TARGET_DURATION_TOO_LONG', rel, `target ${pl.targetDuration} s > ${o.targetDurationSec} s`);
  const dir = path.dirname(rel);
  const sizes: Array<number | undefined> = [];
  let bits = 0;
  let peak = 0;
  let duration = 0;
  // A first segment that is the short first GOP shifts the grid: the second one ends on a multiple of gopSec.
  let shift = 0;
  for (const [i, seg] of pl.segments.entries()) {
    // §4.3.3.1: each EXTINF rounded to the nearest integer must not exceed the target duration.
    if (Math.round(seg.duration) > pl.targetDuration)
      report('PKG_SEGMENT_EXCEEDS_TARGET', rel, `${seg.uri} lasts ${seg.duration} s > target ${pl.targetDuration} s`);
    const last = i === pl.segments.length - 1;
    const gops = (seg.duration + shift) / o.gopSec;
    const shortFirst = i === 0 && Math.abs(seg.duration - o.firstGopSec) <= 0.01 * o.gopSec;
    if (kind === 'video' && !last && !shortFirst && (gops < 0.5 || Math.abs(gops - Math.round(gops)) > 0.01))
      report('PKG_SEGMENT_NOT_GOP_MULTIPLE', rel, `${seg.uri} lasts ${seg.duration} s and does not end on the ${o.gopSec} s GOP grid`);
    shift = shortFirst ? seg.duration : 0;
    const size = await stat(path.join(root, dir, seg.uri)).then(
      (s) => s.size,
      () => undefined,
    );
    sizes.push(size);
    if (size === undefined) {
      report('PKG_SEGMENT_MISSING', rel, `${seg.uri} does not exist`);
      continue;
    }
    bits += size * 8;
    duration += seg.duration;
    peak = Math.max(peak, (size * 8) / Math.max(seg.duration, 1));
  }
  if (pl.mapUri && !(await stat(path.join(root, dir, pl.mapUri)).catch(() => undefined)))
    report('PKG_SEGMENT_MISSING', rel, `init ${pl.mapUri} does not exist`);
  const listedSec = pl.segments.reduce((t, x) => t + x.duration, 0);
  return { rel, playlist: pl, peak, average: duration > 0 ? bits / duration : 0, durationSec: duration, listedSec, sizes };
}

/** Video rungs must cut segments at the same times, so a player can switch at any boundary (Apple spec §1.22). */
export function checkAlignment(rungs: readonly CheckedMedia[], report: Report): void {
  const [ref, ...rest] = rungs;
  if (!ref) return;
  const bounds = (m: CheckedMedia): number[] => {
    let t = 0;
    return m.playlist.segments.map((s) => (t += s.duration));
  };
  const refB = bounds(ref);
  for (const r of rest) {
    const b = bounds(r);
    const off = b.length !== refB.length || b.some((t, i) => Math.abs(t - (refB[i] ?? 0)) > 0.05);
    if (off) report('PKG_RUNGS_MISALIGNED', r.rel, `segment boundaries differ from ${ref.rel}`);
  }
}

/** Every entry of an I-frame playlist must start at a moof whose first sample is a sync sample, and cover it. */
export async function checkIFramePlaylist(
  root: string,
  rel: string,
  rendition: CheckedMedia,
  report: Report,
  known: PackageIndex | undefined,
): Promise<{ peak: number; average: number } | undefined> {
  const pl = await readPlaylist(root, rel, report);
  if (!pl) return undefined;
  if (!pl.iFramesOnly) report('PKG_MEDIA_TAG_MISSING', rel, 'missing EXT-X-I-FRAMES-ONLY');
  if (!pl.endList) report('PKG_MEDIA_TAG_MISSING', rel, 'missing EXT-X-ENDLIST');
  if (!pl.mapUri) {
    report('PKG_MEDIA_TAG_MISSING', rel, 'missing EXT-X-MAP');
    return undefined;
  }
  const dir = path.join(root, path.dirname(rel));
  const init = await readFile(path.join(dir, pl.mapUri)).catch(() => undefined);
  if (!init || !mediaTimescale(init)) {
    report('PKG_SEGMENT_MISSING', rel, `init ${pl.mapUri} unreadable`);
    return undefined;
  }
  const defaults = trackDefaults(init);
  const cache = new Map<string, SegmentIndex | undefined>();
  let peak = 0;
  let bits = 0;
  let duration = 0;
  let complete = true;
  const listed = pl.segments.reduce((t, x) => t + x.duration, 0);
  for (const e of pl.segments) {
    if (!e.byteRange) {
      report('PKG_IFRAME_RANGE_INVALID', rel, `${e.uri} has no EXT-X-BYTERANGE`);
      complete = false;
      continue;
    }
    if (!cache.has(e.uri)) {
      const segRel = path.posix.join(path.posix.dirname(rel), e.uri);
      const index =
        known?.(segRel) ??
        (await readFile(path.join(dir, e.uri)).then(
          (b) => indexSegment(b, defaults),
          () => undefined,
        ));
      cache.set(e.uri, index);
    }
    const index = cache.get(e.uri);
    const { offset, length } = e.byteRange;
    const where = `${e.uri} ${length}@${offset}`;
    // A missing segment is already reported by the media playlist check; its bitrates cannot be measured either.
    if (!index) {
      complete = false;
      continue;
    }
    if (offset + length > index.size) {
      report('PKG_IFRAME_RANGE_INVALID', rel, `${where} lies outside the segment`);
      complete = false;
      continue;
    }
    const frag = index.fragments.find((f) => f.moofOffset === offset);
    if (frag?.keyEnd === undefined || frag.keyEnd > offset + length) {
      report('PKG_IFRAME_RANGE_INVALID', rel, `${where} does not start at a moof covering a key frame`);
      complete = false;
    }
    bits += length * 8;
    duration += e.duration;
    peak = Math.max(peak, (length * 8) / Math.max(e.duration, 1));
  }
  if (Math.abs(listed - rendition.listedSec) > 0.5) {
    report('PKG_IFRAME_DURATION_MISMATCH', rel, `I-frames span ${listed.toFixed(3)} s, the rendition ${rendition.listedSec.toFixed(3)} s`);
  }
  // Bitrates are only comparable when every entry could be measured.
  return complete ? { peak, average: duration > 0 ? bits / duration : 0 } : undefined;
}
