import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { mediaTimescale, readFragments, trackDefaults, type TrackDefaults } from './boxes.ts';
import type { MediaPlaylist, MediaSegmentEntry } from './media-playlist.ts';

/** One I-frame of a rendition: a byte range of a media segment that a player can decode with the init segment. */
export interface IFrameEntry {
  readonly uri: string;
  readonly offset: number;
  readonly length: number;
  /** Presentation time of the I-frame in seconds from the start of the rendition. */
  readonly time: number;
  /** Seconds until the next I-frame (or the end): the EXTINF of an I-frame playlist (§4.3.3.6). */
  readonly duration: number;
}

/**
 * What the I-frame playlist and its validation need to know of one media segment: its size and, per movie
 * fragment, where the moof starts, its decode time and length in ticks, and where its first sample ends when that
 * sample is a key frame. Small enough to keep for every segment of a long video, so the packager can index each
 * segment while it has the bytes in hand and nothing has to read the package again at the end.
 */
export interface SegmentIndex {
  readonly size: number;
  readonly fragments: ReadonlyArray<{
    readonly moofOffset: number;
    readonly decodeTime: number;
    readonly ticks: number;
    /** End offset of the fragment's first sample when it is a key frame; undefined otherwise. */
    readonly keyEnd: number | undefined;
  }>;
}

export function indexSegment(segment: Buffer, defaults: TrackDefaults): SegmentIndex {
  return {
    size: segment.length,
    fragments: readFragments(segment, defaults).map((f) => {
      const first = f.samples[0];
      return {
        moofOffset: f.moofOffset,
        decodeTime: f.decodeTime,
        ticks: f.samples.reduce((n, s) => n + s.duration, 0),
        keyEnd: first?.sync ? first.offset + first.size : undefined,
      };
    }),
  };
}

/** Looks up a segment's index by its path relative to the rendition dir (e.g. from the packager's memory). */
export type SegmentIndexLookup = (uri: string) => SegmentIndex | undefined;

/**
 * Finds every I-frame that begins a movie fragment in the rendition's segments. The byte range runs from the moof
 * through the end of the key sample, as Apple's I-frame playlists for fMP4 do: the moof describes the sample and the
 * truncated mdat holds it. A key frame in the middle of a fragment is not listed — without its own moof a player
 * could only reach it by downloading the whole fragment, which defeats the point of trick play. Segments `known`
 * has indexed are not read again.
 */
export async function findIFrames(renditionDir: string, playlist: MediaPlaylist, known?: SegmentIndexLookup): Promise<IFrameEntry[]> {
  if (!playlist.mapUri) return [];
  const init = await readFile(path.join(renditionDir, playlist.mapUri));
  const timescale = mediaTimescale(init);
  if (!timescale) return [];
  const defaults = trackDefaults(init);
  const indexed: Array<{ uri: string; index: SegmentIndex }> = [];
  for (const seg of playlist.segments) {
    indexed.push({ uri: seg.uri, index: known?.(seg.uri) ?? indexSegment(await readFile(path.join(renditionDir, seg.uri)), defaults) });
  }
  return iFramesOf(indexed, timescale);
}

/** The I-frames of a rendition from its segments' indexes, in playlist order (no segment is read). */
export function iFramesOf(
  segments: ReadonlyArray<{ readonly uri: string; readonly index: SegmentIndex }>,
  timescale: number,
): IFrameEntry[] {
  const found: Array<Omit<IFrameEntry, 'duration'>> = [];
  let firstDecodeTime: number | undefined;
  let endTime = 0;
  for (const { uri, index } of segments) {
    for (const frag of index.fragments) {
      firstDecodeTime ??= frag.decodeTime;
      endTime = Math.max(endTime, (frag.decodeTime - firstDecodeTime + frag.ticks) / timescale);
      if (frag.keyEnd === undefined) continue;
      found.push({
        uri,
        offset: frag.moofOffset,
        length: frag.keyEnd - frag.moofOffset,
        time: (frag.decodeTime - firstDecodeTime) / timescale,
      });
    }
  }
  return found.map((f, i) => ({ ...f, duration: (found[i + 1]?.time ?? endTime) - f.time }));
}

/** The I-frame entries as playlist segments with EXT-X-BYTERANGE. */
export function iFrameSegments(entries: readonly IFrameEntry[]): MediaSegmentEntry[] {
  return entries.map((e) => ({ uri: e.uri, duration: e.duration, byteRange: { length: e.length, offset: e.offset } }));
}

export interface IFrameBitrates {
  /** Peak of range bits over the I-frame's duration (the BANDWIDTH of EXT-X-I-FRAME-STREAM-INF). */
  readonly peak: number;
  readonly average: number;
}

/** Bitrates of an I-frame-only rendition: what a player fetches per second of trick play (§4.3.4.3). */
export function measureIFrames(entries: readonly IFrameEntry[]): IFrameBitrates {
  let peak = 0;
  let bits = 0;
  let duration = 0;
  for (const e of entries) {
    bits += e.length * 8;
    duration += e.duration;
    peak = Math.max(peak, (e.length * 8) / Math.max(e.duration, 1));
  }
  return { peak: Math.ceil(peak), average: duration > 0 ? Math.ceil(bits / duration) : 0 };
}
