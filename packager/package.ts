import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PipelineError } from '../core/errors.ts';
import type { LadderRung } from '../core/types.ts';
import { codecOfInitFile } from './codecs.ts';
import { findIFrames, iFrameSegments, measureIFrames, type SegmentIndex } from './iframes.ts';
import { renderMasterPlaylist, type MasterAudio, type MasterVariant } from './master.ts';
import { measureRendition } from './measure.ts';
import { parseMediaPlaylist, renderMediaPlaylist } from './media-playlist.ts';

/** A rendition directory written by the transcoder (`<dir>/index.m3u8`, `init.mp4`, segments). */
/** Segment indexes by path relative to the package root (e.g. `v0/seg_00003.m4s`). */
export type PackageIndex = (rel: string) => SegmentIndex | undefined;

export interface RenditionInput {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly dir: string;
  readonly rung: LadderRung | undefined;
}

export interface PackagedRendition {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly width: number | null;
  readonly height: number | null;
  readonly fps: number | null;
  readonly codecs: string;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  /** Playlist path relative to the package root. */
  readonly playlist: string;
  /** I-frame playlist path relative to the package root (video only). */
  readonly iFramePlaylist: string | null;
  readonly sizeBytes: number;
}

export interface PackageResult {
  readonly masterFile: string;
  readonly renditions: readonly PackagedRendition[];
}

export const MASTER_NAME = 'master.m3u8';
export const PLAYLIST_NAME = 'index.m3u8';
export const IFRAME_PLAYLIST_NAME = 'iframes.m3u8';
/** A media segment's file name in its rendition directory, by its number (EXT-X-MEDIA-SEQUENCE counts the same). */
export const segmentName = (n: number): string => `seg_${String(n).padStart(5, '0')}.m4s`;
export const AUDIO_GROUP = 'aud';

/** Writes a file so that a concurrent reader sees the old or the new content, never a prefix. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** ffmpeg's playlist rewritten as a complete VOD playlist: same segments, our tags (see renderMediaPlaylist). */
async function rewriteAsVod(root: string, r: RenditionInput): Promise<string> {
  const rel = `${r.dir}/${PLAYLIST_NAME}`;
  const pl = parseMediaPlaylist(await readFile(path.join(root, rel), 'utf8'));
  if (!pl.mapUri) throw new PipelineError('PACKAGE_BAD_RENDITION', 'Rendition playlist has no EXT-X-MAP: not fMP4.', { file: rel });
  await writeFileAtomic(
    path.join(root, rel),
    renderMediaPlaylist({ mapUri: pl.mapUri, segments: pl.segments, type: 'VOD', endList: true }),
  );
  return rel;
}

async function writeIFramePlaylist(
  root: string,
  r: RenditionInput,
  known: PackageIndex | undefined,
): Promise<{ rel: string; peak: number; average: number } | undefined> {
  const pl = parseMediaPlaylist(await readFile(path.join(root, r.dir, PLAYLIST_NAME), 'utf8'));
  const entries = await findIFrames(path.join(root, r.dir), pl, known && ((uri) => known(`${r.dir}/${uri}`)));
  if (entries.length === 0 || !pl.mapUri) return undefined;
  const rel = `${r.dir}/${IFRAME_PLAYLIST_NAME}`;
  const text = renderMediaPlaylist({ mapUri: pl.mapUri, segments: iFrameSegments(entries), type: 'VOD', endList: true, iFramesOnly: true });
  await writeFileAtomic(path.join(root, rel), text);
  return { rel, ...measureIFrames(entries) };
}

async function describe(
  root: string,
  r: RenditionInput,
  known: PackageIndex | undefined,
): Promise<PackagedRendition & { iFramePeak: number; iFrameAverage: number }> {
  const playlist = await rewriteAsVod(root, r);
  const m = await measureRendition(path.join(root, playlist));
  const codecs = await codecOfInitFile(path.join(root, r.dir, 'init.mp4'), r.kind);
  const iframes = r.kind === 'video' ? await writeIFramePlaylist(root, r, known) : undefined;
  return {
    name: r.name,
    kind: r.kind,
    width: r.rung?.width ?? null,
    height: r.rung?.height ?? null,
    fps: r.rung?.fps ?? null,
    codecs,
    bandwidth: m.peakBitrate,
    averageBandwidth: m.averageBitrate,
    playlist,
    iFramePlaylist: iframes?.rel ?? null,
    iFramePeak: iframes?.peak ?? 0,
    iFrameAverage: iframes?.average ?? 0,
    sizeBytes: m.sizeBytes,
  };
}

export const defaultAudio = (uri: string): MasterAudio => ({ uri, groupId: AUDIO_GROUP, name: 'Default', channels: 2 });

/**
 * Finishes a transcoded ladder in `root`: rewrites every media playlist as VOD with our tags, writes an I-frame
 * playlist per video rung, measures every rendition and writes the master with measured BANDWIDTH/AVERAGE-BANDWIDTH
 * and the real CODECS. Video variants carry the audio rendition's bitrate in their own (§4.3.4.2: BANDWIDTH covers
 * every rendition a client may play together). Segments `known` has indexed (the progressive packager indexes each
 * one as it publishes it) are not read again.
 */
export async function writeMaster(root: string, inputs: readonly RenditionInput[], known?: PackageIndex): Promise<PackageResult> {
  const described = await Promise.all(inputs.map((r) => describe(root, r, known)));
  const audio = described.find((r) => r.kind === 'audio');
  const variants: MasterVariant[] = described
    .filter((r) => r.kind === 'video')
    .map((v) => ({
      uri: v.playlist,
      bandwidth: v.bandwidth + (audio?.bandwidth ?? 0),
      averageBandwidth: v.averageBandwidth + (audio?.averageBandwidth ?? 0),
      codecs: audio ? `${v.codecs},${audio.codecs}` : v.codecs,
      width: v.width ?? 0,
      height: v.height ?? 0,
      fps: v.fps ?? 0,
      iFrame: v.iFramePlaylist
        ? { uri: v.iFramePlaylist, bandwidth: v.iFramePeak, averageBandwidth: v.iFrameAverage, codecs: v.codecs }
        : undefined,
    }));
  const masterFile = path.join(root, MASTER_NAME);
  await writeFileAtomic(masterFile, renderMasterPlaylist(variants, audio ? defaultAudio(audio.playlist) : undefined));
  const renditions = described.map(({ iFramePeak: _p, iFrameAverage: _a, ...r }) => r);
  return { masterFile, renditions };
}
