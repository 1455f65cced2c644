import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import { PipelineError } from '../core/errors.ts';
import { mapLimit } from '../core/map-limit.ts';
import { mediaTimescale } from './boxes.ts';
import type { SegmentIndex } from './iframes.ts';
import { parseMediaPlaylist } from './media-playlist.ts';
import { PLAYLIST_NAME, segmentName, type RenditionInput } from './package.ts';
import type { PackageSink } from './progressive.ts';
import { prepareInit, rewriteSegment } from './segment-rewrite.ts';

/** Name of every rendition's shared init segment in the package (the one-piece encode's name too). */
export const INIT_NAME = 'init.mp4';

/** One published media segment as the stitch needs it: no byte of it is read again. */
export interface PublishedSegment {
  /** File name inside the rendition directory, e.g. seg_00012.m4s. */
  readonly uri: string;
  readonly duration: number;
  readonly size: number;
  /** Video only: where its key frames are, for the I-frame playlist (see iframes.ts). */
  readonly index: SegmentIndex | undefined;
}

/** One rendition's part of a chunk (or of the audio job). Plain data: it travels as a BullMQ job's return value. */
export interface PublishedRenditionPart {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly dir: string;
  /** The baked init segment: its hash decides whether the chunk shares the rendition's EXT-X-MAP. */
  readonly init: { readonly sha256: string; readonly base64: string; readonly timescale: number };
  readonly segments: readonly PublishedSegment[];
}

export interface PublishedPart {
  /** Chunk index; the audio job is part 0 of its own series. */
  readonly index: number;
  readonly firstSegmentNumber: number;
  readonly renditions: readonly PublishedRenditionPart[];
}

export interface PublishPartOptions {
  /** The encoder's output directory (one sub-directory per rendition, ffmpeg's finished playlists in them). */
  readonly workDir: string;
  readonly renditions: readonly RenditionInput[];
  readonly sink: PackageSink;
  readonly logger: Logger;
  readonly index: number;
  readonly firstSegmentNumber: number;
  /** Publish each rendition's init as init.mp4 (the first chunk and the audio job); later chunks only report theirs. */
  readonly publishInit: boolean;
}

const PUBLISH_CONCURRENCY = 6;

async function publishRendition(o: PublishPartOptions, r: RenditionInput): Promise<PublishedRenditionPart> {
  const dir = path.join(o.workDir, r.dir);
  const pl = parseMediaPlaylist(await readFile(path.join(dir, PLAYLIST_NAME), 'utf8'));
  if (!pl.mapUri) throw new PipelineError('PACKAGE_BAD_RENDITION', 'Rendition playlist has no EXT-X-MAP: not fMP4.', { file: r.dir });
  const first = pl.segments[0]?.uri;
  if (first !== undefined && first !== segmentName(o.firstSegmentNumber))
    throw new PipelineError('PACKAGE_BAD_RENDITION', 'The chunk does not start with its planned segment.', { file: `${r.dir}/${first}` });
  const prepared = await prepareInit(path.join(dir, pl.mapUri), o.logger, r.name);
  const segments = await mapLimit(pl.segments, PUBLISH_CONCURRENCY, async (seg): Promise<PublishedSegment> => {
    const file = path.join(dir, seg.uri);
    const index = await rewriteSegment(file, prepared.shift, r.kind === 'video' ? prepared.defaults : undefined);
    await o.sink.putFile(`${r.dir}/${seg.uri}`, file);
    return { uri: seg.uri, duration: seg.duration, size: (await stat(file)).size, index };
  });
  // After its segments: a reader that finds the init finds every segment this part lists.
  if (o.publishInit) await o.sink.putFile(`${r.dir}/${INIT_NAME}`, path.join(dir, pl.mapUri));
  const init = { sha256: sha256(prepared.init), base64: prepared.init.toString('base64'), timescale: mediaTimescale(prepared.init) ?? 0 };
  return { name: r.name, kind: r.kind, dir: r.dir, init, segments };
}

/**
 * Publishes what one encoder run wrote (a chunk's video rungs, or the audio job's rendition) straight to the
 * package: edit lists baked into the decode times, video split into one fragment per GOP and indexed, each segment
 * uploaded under its final name. Playlists are left to the stitch (stitch.ts), which needs only the returned data.
 */
export async function publishPart(o: PublishPartOptions): Promise<PublishedPart> {
  const renditions = await Promise.all(o.renditions.map((r) => publishRendition(o, r)));
  return { index: o.index, firstSegmentNumber: o.firstSegmentNumber, renditions };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
