import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PipelineError } from '../core/errors.ts';
import { AUDIO_BITRATE, SEGMENT_SECONDS } from '../transcoder/command.ts';
import { INIT_NAME, type PublishedPart, type PublishedRenditionPart, type PublishedSegment } from './chunk-publish.ts';
import { aacCodecFromInit, avcCodecFromInit } from './codecs.ts';
import { iFrameSegments, iFramesOf, measureIFrames, type SegmentIndex } from './iframes.ts';
import { renderMasterPlaylist, type MasterVariant } from './master.ts';
import { measureSegments } from './measure.ts';
import { renderMediaPlaylist, type MediaSegmentEntry } from './media-playlist.ts';
import { defaultAudio, IFRAME_PLAYLIST_NAME, MASTER_NAME, PLAYLIST_NAME, type PackageIndex, type RenditionInput } from './package.ts';
import type { PackageSink } from './progressive.ts';

export interface StitchOptions {
  /** Results of the video chunk jobs, in any order (publishPart's return values). */
  readonly chunks: readonly PublishedPart[];
  /** Result of the audio job; undefined when the source has no audio. */
  readonly audio: PublishedPart | undefined;
  /** The planned renditions (transcoder/command.ts plannedRenditions): order and rungs of the master. */
  readonly renditions: readonly RenditionInput[];
  readonly sink: PackageSink;
}

/** One rendition's segments across every part, each naming the init it needs. */
interface Joined {
  readonly input: RenditionInput;
  readonly init: Buffer;
  readonly timescale: number;
  readonly segments: ReadonlyArray<PublishedSegment & { readonly mapUri?: string }>;
  /** Init segments of parts whose encoder wrote different parameter sets: published beside init.mp4. */
  readonly extraInits: ReadonlyMap<string, Buffer>;
}

const incomplete = (detail: string): PipelineError =>
  new PipelineError('PACKAGE_CHUNKS_INCOMPLETE', `Chunk results do not join up: ${detail}.`, { detail });

/** The chunks 0…n-1 that are all there, in order (a preview can only list a gap-free beginning). */
export function contiguousPrefix(chunks: readonly PublishedPart[]): PublishedPart[] {
  const byIndex = new Map(chunks.map((c) => [c.index, c]));
  const out: PublishedPart[] = [];
  for (let i = 0; byIndex.has(i); i++) out.push(byIndex.get(i)!);
  return out;
}

function join(input: RenditionInput, parts: readonly PublishedPart[]): Joined {
  const pieces = parts.map((p) => {
    const r = p.renditions.find((x) => x.dir === input.dir);
    if (!r) throw incomplete(`part ${p.index} has no ${input.dir}`);
    return { part: p, r };
  });
  const first = pieces[0]?.r;
  if (!first) throw incomplete(`no part for ${input.dir}`);
  const extraInits = new Map<string, Buffer>();
  const segments: Array<PublishedSegment & { mapUri?: string }> = [];
  let next = pieces[0]!.part.firstSegmentNumber;
  for (const { part, r } of pieces) {
    if (part.firstSegmentNumber !== next)
      throw incomplete(`${input.dir}: part ${part.index} starts at segment ${part.firstSegmentNumber}, not ${next}`);
    next += r.segments.length;
    // Same settings give the same SPS/PPS, hence byte-identical baked inits; if an encoder still wrote different ones
    // (e.g. colour tags that change mid-source), the part gets its own EXT-X-MAP (§4.3.2.5) instead of a wrong one.
    const mapUri = mapFor(first, r, extraInits);
    segments.push(...r.segments.map((s) => (mapUri ? { ...s, mapUri } : s)));
  }
  return { input, init: Buffer.from(first.init.base64, 'base64'), timescale: first.init.timescale, segments, extraInits };
}

function mapFor(first: PublishedRenditionPart, r: PublishedRenditionPart, extra: Map<string, Buffer>): string | undefined {
  if (r.init.sha256 === first.init.sha256) return undefined;
  const uri = `init-${r.init.sha256.slice(0, 16)}.mp4`;
  extra.set(uri, Buffer.from(r.init.base64, 'base64'));
  return uri;
}

async function publishExtraInits(sink: PackageSink, joined: readonly Joined[]): Promise<void> {
  if (joined.every((j) => j.extraInits.size === 0)) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-stitch-'));
  try {
    for (const j of joined) {
      for (const [uri, bytes] of j.extraInits) {
        await writeFile(path.join(dir, uri), bytes);
        await sink.putFile(`${j.input.dir}/${uri}`, path.join(dir, uri));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const entries = (j: Joined): MediaSegmentEntry[] =>
  j.segments.map((s) => ({ uri: s.uri, duration: s.duration, ...(s.mapUri ? { mapUri: s.mapUri } : {}) }));

function codecOf(j: Joined): string {
  const codec = j.input.kind === 'video' ? avcCodecFromInit(j.init) : aacCodecFromInit(j.init);
  if (!codec)
    throw new PipelineError('PACKAGE_BAD_RENDITION', `Cannot read the codec of ${j.input.dir}'s init segment.`, { file: j.input.dir });
  return codec;
}

/** Audio segments that begin before `endSec`: a preview lists no audio the video cannot yet accompany. */
function audioUpTo(j: Joined, endSec: number): Joined {
  let t = 0;
  return { ...j, segments: j.segments.filter((s) => (t += s.duration) - s.duration < endSec) };
}

function joinAll(o: StitchOptions, chunks: readonly PublishedPart[]): { video: Joined[]; audio: Joined | undefined } {
  const video = o.renditions.filter((r) => r.kind === 'video').map((r) => join(r, chunks));
  const audioInput = o.renditions.find((r) => r.kind === 'audio');
  const audio = audioInput && o.audio ? join(audioInput, [o.audio]) : undefined;
  if (audioInput && !o.audio) throw incomplete('no audio result');
  return { video, audio };
}

export interface PreviewResult {
  /** Chunks listed (0…n-1); 0 when chunk 0 or the audio is not there yet, and nothing was written. */
  readonly chunksListed: number;
  readonly listedSec: number;
}

const withAudio = (audio: Joined | undefined): Joined[] => (audio ? [audio] : []);

/**
 * EVENT playlists and an EVENT master from the chunks finished so far, as the progressive packager publishes while
 * a one-piece encode runs: only the gap-free beginning (0…n-1) is listed, audio up to where that video ends, the
 * master with the planned (nominal) bitrates. Call it after every finished chunk; the first call that returns
 * chunksListed > 0 makes the video playable. Needs chunk 0 and the audio job done (they publish the init segments).
 */
export async function publishChunkedPreview(o: StitchOptions): Promise<PreviewResult> {
  const prefix = contiguousPrefix(o.chunks);
  const needsAudio = o.renditions.some((r) => r.kind === 'audio');
  if (prefix.length === 0 || (needsAudio && !o.audio)) return { chunksListed: 0, listedSec: 0 };
  const { video, audio: fullAudio } = joinAll(o, prefix);
  const listedSec = (video[0]?.segments ?? []).reduce((t, s) => t + s.duration, 0);
  const audio = fullAudio && audioUpTo(fullAudio, listedSec);
  const all = [...video, ...withAudio(audio)];
  await publishExtraInits(o.sink, all);
  for (const j of all) {
    const text = renderMediaPlaylist({
      mapUri: INIT_NAME,
      segments: entries(j),
      type: 'EVENT',
      endList: false,
      targetDuration: SEGMENT_SECONDS,
    });
    await o.sink.putText(`${j.input.dir}/${PLAYLIST_NAME}`, text);
  }
  const audioCodec = audio ? codecOf(audio) : undefined;
  const variants: MasterVariant[] = video.map((j) => {
    const rung = j.input.rung;
    const codec = codecOf(j);
    return {
      uri: `${j.input.dir}/${PLAYLIST_NAME}`,
      bandwidth: (rung?.maxBitrate ?? 0) + (audio ? AUDIO_BITRATE : 0),
      averageBandwidth: (rung?.videoBitrate ?? 0) + (audio ? AUDIO_BITRATE : 0),
      codecs: audioCodec ? `${codec},${audioCodec}` : codec,
      width: rung?.width ?? 0,
      height: rung?.height ?? 0,
      fps: rung?.fps ?? 0,
    };
  });
  await o.sink.putText(
    MASTER_NAME,
    renderMasterPlaylist(variants, audio ? defaultAudio(`${audio.input.dir}/${PLAYLIST_NAME}`) : undefined),
  );
  return { chunksListed: prefix.length, listedSec };
}

export interface StitchedRendition {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly playlist: string;
  readonly iFramePlaylist: string | null;
  readonly codecs: string;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  readonly durationSec: number;
  readonly sizeBytes: number;
  readonly segmentCount: number;
}

export interface StitchResult {
  readonly masterFile: string;
  readonly renditions: readonly StitchedRendition[];
  /** Every video segment's index by package path: validatePackage's `known`, so validation reads no segment. */
  readonly known: PackageIndex;
}

interface Described extends StitchedRendition {
  readonly iFrame: { readonly peak: number; readonly average: number } | undefined;
}

async function finishRendition(sink: PackageSink, j: Joined): Promise<Described> {
  const playlist = `${j.input.dir}/${PLAYLIST_NAME}`;
  await sink.putText(playlist, renderMediaPlaylist({ mapUri: INIT_NAME, segments: entries(j), type: 'VOD', endList: true }));
  const m = measureSegments(j.segments, j.init.length);
  let iFrame: Described['iFrame'];
  let iFramePlaylist: string | null = null;
  if (j.input.kind === 'video') {
    const indexed = j.segments.map((s) => {
      if (!s.index) throw incomplete(`${j.input.dir}/${s.uri} has no index`);
      return { uri: s.uri, index: s.index };
    });
    const found = iFramesOf(indexed, j.timescale);
    // An I-frame entry's byte range is only valid against the init its segment uses.
    const maps = new Map(j.segments.map((s) => [s.uri, s.mapUri]));
    const segments = iFrameSegments(found).map((e) => ({ ...e, ...(maps.get(e.uri) ? { mapUri: maps.get(e.uri) } : {}) }));
    iFramePlaylist = `${j.input.dir}/${IFRAME_PLAYLIST_NAME}`;
    await sink.putText(iFramePlaylist, renderMediaPlaylist({ mapUri: INIT_NAME, segments, type: 'VOD', endList: true, iFramesOnly: true }));
    iFrame = measureIFrames(found);
  }
  return {
    name: j.input.name,
    kind: j.input.kind,
    playlist,
    iFramePlaylist,
    codecs: codecOf(j),
    bandwidth: m.peakBitrate,
    averageBandwidth: m.averageBitrate,
    durationSec: m.durationSec,
    sizeBytes: m.sizeBytes,
    segmentCount: m.segmentCount,
    iFrame,
  };
}

/**
 * The finished package from every chunk's and the audio job's results, writing playlists only (no media byte is
 * read or rewritten): VOD media playlists, an I-frame playlist per rung and the master with measured bitrates and
 * real codecs, the master last, as packager/package.ts writeMaster does for a one-piece encode.
 * Errors: PACKAGE_CHUNKS_INCOMPLETE (a chunk missing, duplicated or not joining its neighbour).
 */
export async function stitchPackage(o: StitchOptions & { readonly chunkCount: number }): Promise<StitchResult> {
  const chunks = contiguousPrefix(o.chunks);
  if (chunks.length !== o.chunkCount || o.chunks.length !== o.chunkCount)
    throw incomplete(`${o.chunks.length} results for ${o.chunkCount} chunks, ${chunks.length} of them in sequence from 0`);
  const { video, audio } = joinAll(o, chunks);
  await publishExtraInits(o.sink, [...video, ...withAudio(audio)]);
  const described = await Promise.all([...video, ...withAudio(audio)].map((j) => finishRendition(o.sink, j)));
  const a = described.find((r) => r.kind === 'audio');
  const variants: MasterVariant[] = described
    .filter((r) => r.kind === 'video')
    .map((v, i) => {
      const rung = video[i]!.input.rung;
      return {
        uri: v.playlist,
        bandwidth: v.bandwidth + (a?.bandwidth ?? 0),
        averageBandwidth: v.averageBandwidth + (a?.averageBandwidth ?? 0),
        codecs: a ? `${v.codecs},${a.codecs}` : v.codecs,
        width: rung?.width ?? 0,
        height: rung?.height ?? 0,
        fps: rung?.fps ?? 0,
        iFrame:
          v.iFramePlaylist && v.iFrame
            ? { uri: v.iFramePlaylist, bandwidth: v.iFrame.peak, averageBandwidth: v.iFrame.average, codecs: v.codecs }
            : undefined,
      };
    });
  await o.sink.putText(MASTER_NAME, renderMasterPlaylist(variants, a ? defaultAudio(a.playlist) : undefined));
  const index = new Map<string, SegmentIndex>();
  for (const j of video) for (const s of j.segments) if (s.index) index.set(`${j.input.dir}/${s.uri}`, s.index);
  return { masterFile: MASTER_NAME, renditions: described.map(({ iFrame: _f, ...r }) => r), known: (rel) => index.get(rel) };
}
