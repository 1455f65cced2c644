import { PipelineError } from '../core/errors.ts';
import { readBoxes } from './boxes.ts';
import type { MediaSegmentEntry } from './media-playlist.ts';
import { segmentName } from './package.ts';

/**
 * Segments from ffmpeg's one-GOP pieces. ffmpeg 5.1's HLS muxer cuts every segment at the same length (its
 * hls_init_time only works on a sliding-window playlist), so the ladder writes one file per GOP and the packager
 * joins them: the first segment is a single GOP, every later one SEGMENT_SECONDS. The first segment is what makes a
 * video previewable and what a player fetches before it starts, so on a 10 s clip the preview no longer waits for
 * 6 s of every rung to be encoded, and playback starts after a 2 s download instead of a 6 s one.
 */

/** Pieces (GOPs) in the first segment. */
export const FIRST_SEGMENT_PIECES = 1;

export interface PieceGroup {
  /** The joined segment's file name in the rendition directory. */
  readonly uri: string;
  /** Sum of the pieces' EXTINF durations. */
  readonly duration: number;
  /** The pieces' URIs as ffmpeg's playlist names them, in order. */
  readonly pieces: readonly string[];
}

/**
 * Groups ffmpeg's pieces into segments: FIRST_SEGMENT_PIECES, then `piecesPerSegment` each. The last group is only
 * returned short when `final` (ffmpeg has exited and listed every piece); before that, only whole groups are.
 */
export function groupPieces(pieces: readonly MediaSegmentEntry[], piecesPerSegment: number, final: boolean): PieceGroup[] {
  if (!Number.isInteger(piecesPerSegment) || piecesPerSegment < 1)
    throw new PipelineError('PACKAGE_BAD_RENDITION', 'Pieces per segment must be a positive integer.', { piecesPerSegment });
  const groups: PieceGroup[] = [];
  let start = 0;
  while (start < pieces.length) {
    const size = groups.length === 0 ? FIRST_SEGMENT_PIECES : piecesPerSegment;
    const members = pieces.slice(start, start + size);
    if (members.length < size && !final) break;
    groups.push({
      uri: segmentName(groups.length),
      // Rounded like ffmpeg's own EXTINF (microseconds), so sums of float durations do not print as 5.999999999.
      duration: Math.round(members.reduce((t, p) => t + p.duration, 0) * 1e6) / 1e6,
      pieces: members.map((p) => p.uri),
    });
    start += size;
  }
  return groups;
}

/**
 * One media segment from consecutive pieces of one rendition: the first piece's leading boxes (styp) and then every
 * piece's movie fragments in order. Each piece's styp and sidx go: a segment type box belongs only at the start of a
 * segment, and a sidx would describe one piece, not the segment (HLS does not use it). The fragments' sequence
 * numbers already increase across pieces, as ffmpeg writes them for the whole rendition. Rejects a piece that is not
 * a clean list of boxes rather than publish a segment a player might choke on.
 */
export function joinPieces(pieces: readonly Buffer[]): Buffer {
  const out: Buffer[] = [];
  pieces.forEach((piece, i) => {
    const boxes = readBoxes(piece);
    if (boxes.reduce((n, b) => n + b.size, 0) !== piece.length)
      throw new PipelineError('PACKAGE_BAD_RENDITION', 'A segment piece is not a whole list of boxes.', { piece: i });
    for (const b of boxes) {
      if (b.type === 'sidx' || (b.type === 'styp' && i > 0)) continue;
      out.push(piece.subarray(b.offset, b.offset + b.size));
    }
  });
  return Buffer.concat(out);
}
