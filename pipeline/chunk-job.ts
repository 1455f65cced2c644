import path from 'node:path';
import { rm } from 'node:fs/promises';
import { UnrecoverableError, type Job } from 'bullmq';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { VideoRepository } from '../db/videos.ts';
import { mediaInput } from '../media/allow-list.ts';
import { partStills, planPartArtwork, publishPartStills } from '../packager/artwork-parts.ts';
import { publishPart } from '../packager/chunk-publish.ts';
import { storageSink } from '../storage/publish.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { chunkEndSec, encodeAudio, encodeVideoChunk } from '../transcoder/chunks.ts';
import type { WatermarkOptions } from '../transcoder/watermark.ts';
import { plannedRenditions } from '../transcoder/command.ts';
import type { FfmpegPool } from '../transcoder/pool.ts';
import { clearPrefix, hlsPrefix } from './job-parts.ts';
import { makeJobDir } from './source-step.ts';
import { MASTER_NAME } from '../packager/package.ts';
import { publishChunkedPreview } from '../packager/stitch.ts';
import { partKey, type ChunkJobData, type ChunkJobResult, type PartResults } from './chunked.ts';
import { masterInto, type VideoSources } from './sources.ts';

export interface ChunkJobDeps {
  readonly videos: VideoRepository;
  readonly storage: ObjectStorage;
  readonly sources: VideoSources;
  readonly ffmpegPath: string;
  readonly workDir: string;
  readonly logger: Logger;
  readonly threads: number;
  /** Niceness of ffmpeg (FFMPEG_NICE); default 0. */
  readonly niceness?: number;
  readonly preset?: string;
  /** The same overlay as the one-piece encode burns in; default none. */
  readonly watermark?: WatermarkOptions;
  readonly pool?: FfmpegPool;
  readonly signal?: AbortSignal;
  readonly cancelRequested?: () => Promise<boolean>;
  /** Where finished parts leave their results for each other (preview, progress). */
  readonly results: PartResults;
}

/** Encodes and publishes one part in a temp dir of this host, removed on every way out. */
export async function processChunkJob(job: Job<ChunkJobData>, d: ChunkJobDeps): Promise<ChunkJobResult> {
  const { videoId, part, epoch } = job.data;
  const label = part.kind === 'whole' ? 'whole' : `chunk ${part.chunk.index}`;
  d.logger.info({ videoId, part: label, attempt: job.attemptsMade + 1 }, 'chunk job started');
  if (await d.cancelRequested?.()) throw new UnrecoverableError('TRANSCODE_CANCELLED');
  const row = await d.videos.get(videoId);
  // A video deleted (or finished by someone else) meanwhile: nothing to encode, and no retry can change that.
  if (!row || row.status !== 'processing') throw new UnrecoverableError(`video is ${row?.status ?? 'gone'}`);
  const dir = await makeJobDir(d.workDir, videoId);
  try {
    const master = await masterInto(d.sources, row, dir);
    const source = mediaInput(master, job.data.probe.container);
    const out = path.join(dir, 'out');
    const sink = storageSink(d.storage, hlsPrefix(videoId));
    const common = {
      source,
      probe: job.data.probe,
      outDir: out,
      ffmpegPath: d.ffmpegPath,
      logger: d.logger,
      pool: d.pool,
      threads: d.threads,
      niceness: d.niceness,
    };
    if (part.kind === 'video') {
      const c = part.chunk;
      const artwork = planPartArtwork(out, job.data.probe.durationSec, { startSec: c.startSec, endSec: chunkEndSec(c) });
      await encodeVideoChunk({
        ...common,
        chunk: c,
        rungs: job.data.rungs,
        preset: d.preset,
        signal: d.signal,
        stills: partStills(artwork),
        watermark: d.watermark,
      });
      const published = await publishPart({
        workDir: out,
        renditions: plannedRenditions(job.data.rungs, false),
        sink,
        logger: d.logger,
        index: c.index,
        firstSegmentNumber: c.firstSegmentNumber,
        publishInit: c.index === 0,
      });
      // Before the part returns: a part that fails here is retried, so the parent finds every frame when it composes.
      await publishPartStills(artwork, sink);
      await unlessCancelled(d, videoId);
      return await afterPart(job.data, d, { epoch, kind: 'video', part: published });
    }
    const whole = await encodeWhole(job.data, { ...common, signal: d.signal, sink });
    await unlessCancelled(d, videoId);
    return await afterPart(job.data, d, whole);
  } catch (err) {
    // The same input fails on every host: a broken source is final for the part (and, through the flow, the video).
    if (err instanceof PipelineError && (err.code === 'TRANSCODE_SOURCE_CORRUPT' || err.code === 'TRANSCODE_CANCELLED'))
      throw new UnrecoverableError(err.code);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A cancel (the video deleted or erased) that came while this part published: the deletion may already have listed
 * the package, so what this part put there would outlive the video. The cancel marker is set before the deletion
 * lists anything, so checking it after the last put catches every such part; the part then removes the package.
 */
async function unlessCancelled(d: ChunkJobDeps, videoId: string): Promise<void> {
  if (!(await d.cancelRequested?.())) return;
  await clearPrefix(d.storage, hlsPrefix(videoId));
  throw new UnrecoverableError('TRANSCODE_CANCELLED');
}

/** The source's audio once (the pictures for posters and storyboard come from the video chunks' own decodes). */
async function encodeWhole(
  data: ChunkJobData,
  w: Parameters<typeof encodeAudio>[0] & { sink: ReturnType<typeof storageSink> },
): Promise<ChunkJobResult> {
  if (data.probe.audio === null) return { epoch: data.epoch, kind: 'whole', part: { index: 0, firstSegmentNumber: 0, renditions: [] } };
  const { renditions } = await encodeAudio(w);
  const part = await publishPart({
    workDir: w.outDir,
    renditions,
    sink: w.sink,
    logger: w.logger,
    index: 0,
    firstSegmentNumber: 0,
    publishInit: true,
  });
  return { epoch: data.epoch, kind: 'whole', part };
}

/**
 * After a part is published: the row's progress (parts done of all), and the preview once the whole part and chunk 0
 * are both out (they carry the init segments and the first minutes): whichever of the two finishes second writes it
 * (both may, with the same content). Both are extras; a failure here is logged, never fails the part.
 */
async function afterPart(data: ChunkJobData, d: ChunkJobDeps, own: ChunkJobResult): Promise<ChunkJobResult> {
  try {
    await d.results.put(data, partKey(data.part), own);
    const done = await d.results.all(data);
    await d.videos.setProgress(data.videoId, 'transcode', (done.size / (data.count + 1)) * 100);
    const whole = done.get('whole');
    const first = done.get('c0');
    if (whole && first && (data.part.kind === 'whole' || data.part.chunk.index === 0)) {
      const prefix = hlsPrefix(data.videoId);
      const hasAudio = data.probe.audio !== null;
      const preview = await publishChunkedPreview({
        chunks: [first.part],
        audio: hasAudio ? whole.part : undefined,
        renditions: plannedRenditions(data.rungs, hasAudio),
        sink: storageSink(d.storage, prefix),
      });
      if (preview.chunksListed > 0)
        await d.videos.markPreviewable(data.videoId, { hlsPrefix: prefix, masterKey: `${prefix}/${MASTER_NAME}` });
    }
  } catch (err) {
    d.logger.warn({ videoId: data.videoId, err: err instanceof Error ? err.message : String(err) }, 'chunk progress/preview not updated');
  }
  return own;
}
