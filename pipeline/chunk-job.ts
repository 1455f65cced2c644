import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { UnrecoverableError, type Job } from 'bullmq';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { VideoRepository } from '../db/videos.ts';
import { mediaInput } from '../media/allow-list.ts';
import { artworkStills, planArtwork } from '../packager/artwork.ts';
import { publishPart } from '../packager/chunk-publish.ts';
import { storageSink } from '../storage/publish.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { encodeVideoChunk } from '../transcoder/chunks.ts';
import type { WatermarkOptions } from '../transcoder/watermark.ts';
import { buildLadderPlan, plannedRenditions } from '../transcoder/command.ts';
import type { FfmpegPool } from '../transcoder/pool.ts';
import { runFfmpeg } from '../transcoder/run-ffmpeg.ts';
import { hlsPrefix } from './job.ts';
import { NO_ARTWORK, publishArtwork } from './package-stage.ts';
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
    };
    if (part.kind === 'video') {
      await encodeVideoChunk({
        ...common,
        chunk: part.chunk,
        rungs: job.data.rungs,
        preset: d.preset,
        watermark: d.watermark,
        signal: d.signal,
      });
      const published = await publishPart({
        workDir: out,
        renditions: plannedRenditions(job.data.rungs, false),
        sink,
        logger: d.logger,
        index: part.chunk.index,
        firstSegmentNumber: part.chunk.firstSegmentNumber,
        publishInit: part.chunk.index === 0,
      });
      return await afterPart(job.data, d, { epoch, kind: 'video', part: published });
    }
    return await afterPart(job.data, d, await encodeWhole(job.data, d, { source, out, sink }));
  } catch (err) {
    // The same input fails on every host: a broken source is final for the part (and, through the flow, the video).
    if (err instanceof PipelineError && (err.code === 'TRANSCODE_SOURCE_CORRUPT' || err.code === 'TRANSCODE_CANCELLED'))
      throw new UnrecoverableError(err.code);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The source's audio once, and the artwork frames from the same run (a low-rate branch of one decode). */
async function encodeWhole(
  data: ChunkJobData,
  d: ChunkJobDeps,
  w: {
    source: ReturnType<typeof mediaInput>;
    out: string;
    sink: ReturnType<typeof storageSink>;
  },
): Promise<ChunkJobResult> {
  const hasAudio = data.probe.audio !== null;
  const artwork = planArtwork(w.out, data.probe.durationSec);
  const stills = artworkStills(artwork);
  const plan = buildLadderPlan({ input: w.source, outDir: w.out, rungs: [], hasAudio, threads: d.threads, stills });
  const renditions = plannedRenditions([], hasAudio);
  // ffmpeg's image2 muxer creates no directories.
  await Promise.all(
    [...renditions.map((r) => path.join(w.out, r.dir)), ...stills.map((s) => s.dir)].map((dir) => mkdir(dir, { recursive: true })),
  );
  const opts = { durationSec: data.probe.durationSec, signal: d.signal };
  if (d.pool) await d.pool.run(plan, opts);
  else await runFfmpeg({ ffmpegPath: d.ffmpegPath, plan, logger: d.logger, ...opts });
  const part = hasAudio
    ? await publishPart({ workDir: w.out, renditions, sink: w.sink, logger: d.logger, index: 0, firstSegmentNumber: 0, publishInit: true })
    : { index: 0, firstSegmentNumber: 0, renditions: [] };
  const art = await publishArtwork({ workDir: w.out, prefix: hlsPrefix(data.videoId), logger: d.logger }, w.sink, artwork).catch(
    () => NO_ARTWORK,
  );
  return { epoch: data.epoch, kind: 'whole', part, artwork: art };
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
