import { PipelineError } from '../core/errors.ts';

/** A byte range of a resource (RFC 8216 §4.3.2.2 EXT-X-BYTERANGE: length@offset). */
export interface ByteRangeSpec {
  readonly length: number;
  readonly offset: number;
}

export interface MediaSegmentEntry {
  readonly uri: string;
  readonly duration: number;
  readonly byteRange?: ByteRangeSpec;
  /** EXT-X-MAP in effect for this segment when it is not the playlist's first one (§4.3.2.5: a map applies until the next). */
  readonly mapUri?: string;
}

/** A parsed HLS media playlist: what the packager needs to measure, rewrite and validate. */
export interface MediaPlaylist {
  readonly version: number | undefined;
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly mapUri: string | undefined;
  readonly segments: readonly MediaSegmentEntry[];
  readonly endList: boolean;
  readonly playlistType: string | undefined;
  readonly independentSegments: boolean;
  readonly iFramesOnly: boolean;
}

function parseByteRange(value: string, previousEnd: number | undefined): ByteRangeSpec {
  const [len, off] = value.split('@');
  // Without @offset the range starts right after the previous sub-range of the same resource (§4.3.2.2).
  return { length: Number(len), offset: off !== undefined ? Number(off) : (previousEnd ?? 0) };
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines[0] !== '#EXTM3U')
    throw new PipelineError('PACKAGE_BAD_PLAYLIST', 'Not an HLS playlist: missing #EXTM3U.', { firstLine: lines[0] ?? '' });
  let version: number | undefined;
  let targetDuration = 0;
  let mediaSequence = 0;
  let mapUri: string | undefined;
  let currentMap: string | undefined;
  let pending: number | undefined;
  let pendingRange: ByteRangeSpec | undefined;
  let lastEnd: number | undefined;
  let endList = false;
  let playlistType: string | undefined;
  let independentSegments = false;
  let iFramesOnly = false;
  const segments: MediaSegmentEntry[] = [];
  const value = (line: string): string => line.slice(line.indexOf(':') + 1);
  for (const line of lines) {
    if (line.startsWith('#EXT-X-VERSION:')) version = Number(value(line));
    else if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDuration = Number(value(line));
    else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(value(line));
    else if (line.startsWith('#EXT-X-MAP:')) {
      currentMap = /URI="([^"]+)"/.exec(line)?.[1];
      mapUri ??= currentMap;
    } else if (line.startsWith('#EXTINF:')) pending = parseFloat(value(line));
    else if (line.startsWith('#EXT-X-BYTERANGE:')) pendingRange = parseByteRange(value(line), lastEnd);
    else if (line === '#EXT-X-ENDLIST') endList = true;
    else if (line === '#EXT-X-INDEPENDENT-SEGMENTS') independentSegments = true;
    else if (line === '#EXT-X-I-FRAMES-ONLY') iFramesOnly = true;
    else if (line.startsWith('#EXT-X-PLAYLIST-TYPE:')) playlistType = value(line);
    else if (!line.startsWith('#') && pending !== undefined) {
      const map = currentMap !== mapUri ? { mapUri: currentMap } : {};
      segments.push(
        pendingRange ? { uri: line, duration: pending, byteRange: pendingRange, ...map } : { uri: line, duration: pending, ...map },
      );
      lastEnd = pendingRange ? pendingRange.offset + pendingRange.length : undefined;
      pending = undefined;
      pendingRange = undefined;
    }
  }
  return { version, targetDuration, mediaSequence, mapUri, segments, endList, playlistType, independentSegments, iFramesOnly };
}

export interface RenderMediaPlaylistOptions {
  readonly mapUri: string;
  readonly segments: readonly MediaSegmentEntry[];
  /** EVENT while the transcode runs (segments only get appended), VOD once complete. */
  readonly type: 'EVENT' | 'VOD';
  /** EXT-X-ENDLIST: no more segments will be added. */
  readonly endList: boolean;
  /** Writes EXT-X-I-FRAMES-ONLY (§4.3.3.6); segments then carry byte ranges. */
  readonly iFramesOnly?: boolean;
  /** Overrides the computed EXT-X-TARGETDURATION (e.g. the planned 6 s for a growing EVENT playlist). */
  readonly targetDuration?: number;
}

/** Durations are written with millisecond precision; the target is the rounded maximum (§4.3.3.1). */
export function targetDurationOf(segments: readonly MediaSegmentEntry[]): number {
  return Math.max(1, ...segments.map((s) => Math.round(s.duration)));
}

/**
 * Renders a media playlist. Version 7 is what EXT-X-MAP in a non-I-frame playlist needs (§7); every segment of our
 * ladder starts with an IDR frame (closed 2 s GOPs), hence EXT-X-INDEPENDENT-SEGMENTS (§4.3.5.1).
 */
export function renderMediaPlaylist(o: RenderMediaPlaylistOptions): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${Math.max(o.targetDuration ?? 0, targetDurationOf(o.segments))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-PLAYLIST-TYPE:${o.type}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (o.iFramesOnly) lines.push('#EXT-X-I-FRAMES-ONLY');
  lines.push(`#EXT-X-MAP:URI="${o.mapUri}"`);
  let map = o.mapUri;
  for (const s of o.segments) {
    if ((s.mapUri ?? o.mapUri) !== map) {
      map = s.mapUri ?? o.mapUri;
      lines.push(`#EXT-X-MAP:URI="${map}"`);
    }
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`);
    if (s.byteRange) lines.push(`#EXT-X-BYTERANGE:${s.byteRange.length}@${s.byteRange.offset}`);
    lines.push(s.uri);
  }
  if (o.endList) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
