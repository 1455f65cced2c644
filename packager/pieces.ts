import { PipelineError } from '../core/errors.ts';
import { readBoxes } from './boxes.ts';
import type { MediaSegmentEntry } from './media-playlist.ts';
import { segmentName } from './package.ts';

/**
 * Segments from ffmpeg's one-GOP pieces. ffmpeg 5.1's HLS muxer cuts every segment at the same length (its
 * hls_init_time only works on a sliding-window playlist), so the ladder writes one file per GOP and the packager
 * joins them: the first segment is the first piece alone (one short GOP, transcoder/command.ts FIRST_GOP_SECONDS),
 * every later one ends at the first piece boundary on or past the next multiple of the segment length. The first
 * segment is what makes a video previewable and what a player fetches before it starts, so on a 10 s clip the preview
 * no longer waits for 6 s of every rung to be encoded, and playback starts after a 1 s download instead of a 6 s one.
 * Video pieces are GOPs (0–1, 1–2, 2–4, 4–6, …: segments 0–1, 1–6, 6–12, …); audio pieces are cut at the first AAC
 * frame on or past each whole second, so they end up to a frame late and the same rule lines them up with the video.
 */

/**
 * How far before a segment boundary a piece may end and still close the segment: audio pieces end up to one AAC frame
 * (21 ms) after the grid, keyframes at 29.97 fps up to one frame off it; every piece is at least half a second long.
 */
const BOUNDARY_SLACK_SEC = 0.25;

export interface PieceGroup {
  /** The joined segment's file name in the rendition directory. */
  readonly uri: string;
  /** Sum of the pieces' EXTINF durations. */
  readonly duration: number;
  /** The pieces' URIs as ffmpeg's playlist names them, in order. */
  readonly pieces: readonly string[];
}

/**
 * Groups ffmpeg's pieces into segments: the first piece alone, then up to each multiple of `segmentSec`. The last
 * group is only returned short when `final` (ffmpeg has exited and listed every piece); before that, only groups that
 * reached their boundary and have a piece after them are.
 */
export function groupPieces(pieces: readonly MediaSegmentEntry[], segmentSec: number, final: boolean): PieceGroup[] {
  if (!Number.isFinite(segmentSec) || segmentSec <= BOUNDARY_SLACK_SEC)
    throw new PipelineError('PACKAGE_BAD_RENDITION', 'The segment length must be a positive number of seconds.', { segmentSec });
  const groups: PieceGroup[] = [];
  let members: MediaSegmentEntry[] = [];
  let start = 0;
  let end = 0;
  const close = (): void => {
    groups.push({
      uri: segmentName(groups.length),
      // Rounded like ffmpeg's own EXTINF (microseconds), so sums of float durations do not print as 5.999999999.
      duration: Math.round((end - start) * 1e6) / 1e6,
      pieces: members.map((p) => p.uri),
    });
    members = [];
    start = end;
  };
  // A source that runs a frame or two past a boundary leaves a last piece of that length (a keyframe is forced on the
  // grid): it joins the segment before it instead of making a segment of 33 ms. Groups already returned are published
  // as they are, so one is only closed once the piece after it cannot be that tail: a whole piece, a short one with
  // another after it, or ffmpeg done. (Only the last piece of a rendition can be shorter than the slack.)
  for (const [i, p] of pieces.entries()) {
    members.push(p);
    end += p.duration;
    const boundary = (Math.floor((start + BOUNDARY_SLACK_SEC) / segmentSec) + 1) * segmentSec;
    const last = i + 1 === pieces.length;
    const nextIsTail = !last && i + 2 === pieces.length && pieces[i + 1]!.duration < BOUNDARY_SLACK_SEC;
    if (groups.length === 0 || (end >= boundary - BOUNDARY_SLACK_SEC && !last && !nextIsTail)) close();
  }
  if (members.length && final) close();
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
