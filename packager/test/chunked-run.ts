import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import sharp from 'sharp';
import type { SourceProbe } from '../../core/types.ts';
import type { MediaInput } from '../../media/allow-list.ts';
import { storageSink } from '../../storage/publish.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { chunkEndSec, encodeAudio, encodeVideoChunk, type Chunk } from '../../transcoder/chunks.ts';
import { partStills, planPartArtwork, publishPartStills } from '../artwork-parts.ts';
import { publishPart, type PublishedPart } from '../chunk-publish.ts';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });

export interface ChunkRunOptions {
  readonly source: MediaInput;
  readonly probe: SourceProbe;
  readonly workRoot: string;
  readonly storage: ObjectStorage;
  readonly prefix: string;
}

/** What a chunk job would do: encode the chunk's video rungs and its share of the stills, publish them, return the serialisable result. */
export async function runChunk(o: ChunkRunOptions, chunk: Chunk): Promise<PublishedPart> {
  const outDir = await mkdtemp(path.join(o.workRoot, `chunk${chunk.index}-`));
  const artwork = planPartArtwork(outDir, o.probe.durationSec, { startSec: chunk.startSec, endSec: chunkEndSec(chunk) });
  const stills = partStills(artwork);
  const encoded = await encodeVideoChunk({
    source: o.source,
    probe: o.probe,
    outDir,
    ffmpegPath: 'ffmpeg',
    logger,
    threads: 2,
    chunk,
    stills,
  });
  const part = await publishPart({
    workDir: outDir,
    renditions: encoded.renditions,
    sink: storageSink(o.storage, o.prefix),
    logger,
    index: chunk.index,
    firstSegmentNumber: chunk.firstSegmentNumber,
    publishInit: chunk.index === 0,
  });
  await publishPartStills(artwork, storageSink(o.storage, o.prefix));
  // Through JSON, as BullMQ carries a job's return value.
  return JSON.parse(JSON.stringify(part)) as PublishedPart;
}

/** What the audio job would do. */
export async function runAudio(o: ChunkRunOptions): Promise<PublishedPart> {
  const outDir = await mkdtemp(path.join(o.workRoot, 'audio-'));
  const encoded = await encodeAudio({ source: o.source, probe: o.probe, outDir, ffmpegPath: 'ffmpeg', logger, threads: 2 });
  const part = await publishPart({
    workDir: outDir,
    renditions: encoded.renditions,
    sink: storageSink(o.storage, o.prefix),
    logger,
    index: 0,
    firstSegmentNumber: 0,
    publishInit: true,
  });
  return JSON.parse(JSON.stringify(part)) as PublishedPart;
}

export interface FrameInfo {
  readonly pts: number;
  readonly key: boolean;
}

/** Decoded frames (or audio frames) of a file's first stream of that type: presentation time and key flag. */
export async function framesOf(file: string, select = 'v:0'): Promise<FrameInfo[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', select, '-show_entries', 'frame=pts_time,key_frame', '-of', 'csv=p=0', file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [key, pts] = l.split(',');
      return { key: key === '1', pts: Number(pts) };
    });
}

/** Per-frame SSIM (All) of `file` against `reference`, both from their first frame, the reference scaled to `size`. */
export async function ssimPerFrame(file: string, reference: string, size: string, statsFile: string): Promise<number[]> {
  await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    file,
    '-i',
    reference,
    '-lavfi',
    `[0:v]setpts=PTS-STARTPTS[a];[1:v]scale=${size}:flags=bicubic,setpts=PTS-STARTPTS[b];[a][b]ssim=stats_file=${statsFile}`,
    '-f',
    'null',
    '-',
  ]);
  return (await readFile(statsFile, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(/All:([\d.]+)/.exec(l)?.[1] ?? NaN));
}

/** Mean absolute difference of two pictures' RGB bytes (0 = the same picture); they must have the same size. */
export async function meanAbsDiff(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((f) => sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  if (x!.info.width !== y!.info.width || x!.info.height !== y!.info.height) return Number.POSITIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < x!.data.length; i++) sum += Math.abs(x!.data[i]! - y!.data[i]!);
  return sum / x!.data.length;
}
