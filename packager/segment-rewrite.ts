import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '../core/logger.ts';
import { trackDefaults, type TrackDefaults } from './boxes.ts';
import { indexSegment, type SegmentIndex } from './iframes.ts';
import { joinPieces } from './pieces.ts';
import { splitAtKeyframes } from './refragment.ts';
import { bakeEditList, shiftDecodeTimes } from './timeline.ts';

/** Write-then-rename, so a reader of the work dir never sees half a file. */
export async function replaceFile(file: string, data: Buffer): Promise<void> {
  await writeFile(`${file}.rewrite.tmp`, data);
  await rename(`${file}.rewrite.tmp`, file);
}

export interface PreparedInit {
  /** The init as it is published: its edit list baked into the decode times when that was possible. */
  readonly init: Buffer;
  /** Ticks to add to every decode time of the rendition's segments (timeline.ts). */
  readonly shift: number;
  readonly defaults: TrackDefaults;
}

/** Bakes the edit list of ffmpeg's init segment (rewritten in place) and reads the track defaults the segments need. */
export async function prepareInit(initFile: string, logger: Logger, rendition: string): Promise<PreparedInit> {
  let init: Buffer = await readFile(initFile);
  let shift = 0;
  const bake = bakeEditList(init);
  if ('unsupported' in bake) logger.warn({ rendition, reason: bake.unsupported }, 'edit list kept');
  else {
    shift = bake.shift;
    init = bake.init;
    await replaceFile(initFile, init);
  }
  return { init, shift, defaults: trackDefaults(init) };
}

/**
 * Decode times shifted by the baked edit list (timeline.ts) and, for video, one fragment per GOP (refragment.ts) so
 * the I-frame playlist lists every key frame. Returns the input itself when nothing changes.
 */
export function rewriteMedia(media: Buffer, shift: number, videoDefaults: TrackDefaults | undefined): Buffer {
  const shifted = shift === 0 ? media : shiftDecodeTimes(media, shift);
  return (videoDefaults ? splitAtKeyframes(shifted, videoDefaults) : undefined) ?? shifted;
}

/**
 * rewriteMedia on a segment file, in place; returns a video segment's index. ffmpeg has already renamed the segment
 * into place and never touches it again.
 */
export async function rewriteSegment(
  file: string,
  shift: number,
  videoDefaults: TrackDefaults | undefined,
): Promise<SegmentIndex | undefined> {
  if (shift === 0 && !videoDefaults) return undefined;
  const original = await readFile(file);
  const final = rewriteMedia(original, shift, videoDefaults);
  if (final !== original) await replaceFile(file, final);
  return videoDefaults ? indexSegment(final, videoDefaults) : undefined;
}

/**
 * Joins a group of pieces (pieces.ts) into the segment file `file`, each piece rewritten as rewriteSegment would;
 * returns a video segment's index. The pieces are only read, so a publish retried after a failure starts over from
 * ffmpeg's bytes and never shifts anything twice.
 */
export async function joinSegment(
  file: string,
  pieceFiles: readonly string[],
  shift: number,
  videoDefaults: TrackDefaults | undefined,
): Promise<SegmentIndex | undefined> {
  const pieces = await Promise.all(pieceFiles.map(async (f) => rewriteMedia(await readFile(f), shift, videoDefaults)));
  const joined = joinPieces(pieces);
  await replaceFile(file, joined);
  return videoDefaults ? indexSegment(joined, videoDefaults) : undefined;
}
