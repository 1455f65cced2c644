import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { describeError, isPipelineError, PipelineError } from '../core/errors.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import { stageClock } from '../core/stage-clock.ts';
import type { SourceProbe, TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import type { MediaInput } from '../media/allow-list.ts';
import type { PreparedMaster, PrepareMasterOptions } from './prepare.ts';
import { workDirPrefix } from '../ingest/video-files.ts';
import { MASTER_NAME } from '../packager/package.ts';
import type { ObjectStorage } from '../storage/types.ts';
import type { WatermarkOptions } from '../transcoder/watermark.ts';
import type { FfmpegPool } from '../transcoder/pool.ts';
import type { Logger } from '../core/logger.ts';
import { transcodeAndPackage, type PackagedTranscodeResult } from './package-stage.ts';
import type { ArchiveStepDeps } from './archive-step.ts';
import { archiveInBackground, clearPrefix, hlsPrefix, renditionRows } from './job-parts.ts';
import { resumeChunked, runChunked, type ChunkingDeps } from './chunked-run.ts';
import { scanGate, type ScanGate } from './scan-gate.ts';
import { makeJobDir, prepareSource } from './source-step.ts';
import { ladderSource } from './ladder-source.ts';
import type { VideoSources } from './sources.ts';

export interface PipelineDeps {
  readonly videos: VideoRepository;
  readonly storage: ObjectStorage;
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** Parent of per-job temp directories. */
  readonly workDir: string;
  readonly logger: Logger;
  readonly ffmpegThreads: number;
  /** Niceness of the ladder's ffmpeg; default 0. */
  readonly ffmpegNice?: number;
  readonly preset?: string;
  /** Deployment-wide overlay burned into every rung (WATERMARK_*); default none. */
  readonly watermark?: WatermarkOptions;
  /** Scan → validate → strip settings; the transcoder only ever sees the stripped master. */
  readonly ingest: Omit<PrepareMasterOptions, 'videos' | 'ffmpegPath' | 'ffprobePath' | 'logger'>;
  /** Transcode duration / ×realtime histograms; default none. */
  readonly metrics?: PipelineMetrics;
  /** Runs ffmpeg on worker threads; without it ffmpeg is supervised from the main thread. */
  readonly pool?: FfmpegPool;
  /** Aborted by cancelTranscode (through the BullMQ worker). */
  readonly signal?: AbortSignal;
  /** True when a cancel was requested earlier (checked at start, so a retried or stalled job stops too). */
  readonly cancelRequested?: () => Promise<boolean>;
  /** Master archive (+ optional Stream offload); absent when ARCHIVE_DRIVER=none. */
  readonly archive?: ArchiveStepDeps;
  /** Where uploads and masters are (pipeline/sources.ts); default the data volume. Jobs naming a bucket key need it. */
  readonly sources?: VideoSources;
  /** Long sources become chunk jobs any worker may take (pipeline/chunked.ts); default: never chunked. */
  readonly chunking?: ChunkingDeps;
  /** The job's lock token (moving the job to wait for its chunk jobs needs it). */
  readonly token?: string;
}

export { hlsPrefix } from './job-parts.ts';

/** Errors caused by the upload itself: retrying cannot help, the video is rejected with the code. */
function isInputError(err: unknown): err is PipelineError {
  return (
    isPipelineError(err) &&
    (err.code === 'TRANSCODE_PROBE_FAILED' || err.code === 'TRANSCODE_NO_VIDEO' || err.code === 'TRANSCODE_SOURCE_CORRUPT')
  );
}

/** Input errors reject the video, a cancel fails it; neither is retried. Anything else is rethrown for a retry. */
async function failFinally(err: unknown, videoId: string, d: PipelineDeps): Promise<never> {
  if (isInputError(err)) {
    await d.videos.markFailed(videoId, 'rejected', err.code, err.message);
    throw new UnrecoverableError(err.code);
  }
  if (isPipelineError(err, 'TRANSCODE_CANCELLED')) {
    await d.videos.markFailed(videoId, 'failed', err.code, err.message);
    throw new UnrecoverableError(err.code);
  }
  throw err;
}

/** Work dirs of earlier attempts at this video (a worker SIGKILLed mid-transcode leaves its dir behind). */
async function removeStaleWorkDirs(workDir: string, videoId: string): Promise<void> {
  const names = await readdir(workDir).catch(() => []);
  await Promise.all(
    names.filter((n) => n.startsWith(workDirPrefix(videoId))).map((n) => rm(path.join(workDir, n), { recursive: true, force: true })),
  );
}

/** Progress writes to Postgres at most every `ms`, the last one always. */
function throttled(
  fn: (p: number) => Promise<void>,
  ms: number,
  logger: Logger,
): { report: (p: number) => void; flush: () => Promise<void> } {
  let last = 0;
  // Writes are chained, so they land in order and flush() can wait for the last one before the row turns ready.
  let chain: Promise<void> = Promise.resolve();
  const report = (p: number): void => {
    const now = Date.now();
    if (p < 100 && now - last < ms) return;
    last = now;
    // Progress is advisory (the job result is what counts): a failed write is logged, not fatal.
    chain = chain.then(() => fn(p)).catch((err: unknown) => logger.warn({ err: describeError(err) }, 'progress write failed'));
  };
  return { report, flush: () => chain };
}

/**
 * The row already turned ready after this job was created: an earlier attempt of this very job finished it, and BullMQ
 * handed the job out again because that attempt's lock lapsed (a worker whose event loop was blocked for longer than
 * JOB_LOCK_MS). Running it again would unpublish a ready video. A deliberate re-process is a job created after the
 * video was ready, so it runs.
 */
async function finishedEarlier(job: Job<TranscodeJobData>, d: PipelineDeps): Promise<{ masterKey: string } | undefined> {
  const v = await d.videos.get(job.data.videoId);
  if (v?.status !== 'ready' || !v.ready_at || !v.master_key || v.ready_at.getTime() < job.timestamp) return undefined;
  d.logger.warn(
    { videoId: v.id, job: job.id, readyAt: v.ready_at.toISOString() },
    'job already finished by an earlier attempt; not run again',
  );
  return { masterKey: v.master_key };
}

/**
 * One job: scan beside validate → strip, the ladder beside the strip (gated on both) → master playlist → publish → ready.
 * Temp dir always removed.
 * Errors from an unavailable dependency are thrown as they are: the worker (queue.ts) turns them into a wait.
 */
export async function processTranscodeJob(job: Job<TranscodeJobData>, d: PipelineDeps): Promise<{ masterKey: string }> {
  const { videoId } = job.data;
  const started = performance.now();
  const clock = stageClock();
  d.logger.info({ videoId, attempt: job.attemptsMade + 1, queuedMs: Date.now() - job.timestamp }, 'transcode job started');
  if (await d.cancelRequested?.()) {
    await failFinally(new PipelineError('TRANSCODE_CANCELLED', 'Cancelled before this attempt started.'), videoId, d);
  }
  const done = await finishedEarlier(job, d);
  if (done) return done;
  // The second run of a chunked transcode: its chunk jobs are done (or some must be waited for again).
  if (job.data.chunked && d.chunking)
    return resumeChunked(job, d, d.chunking, { started, clock }).catch((err: unknown) => failFinally(err, videoId, d));
  // A preview left by an earlier attempt (one that failed, or died and stalled) points at a package this attempt is
  // about to delete and re-publish: the API stops offering it now, not when this attempt's first segments are out.
  if (await d.videos.clearPreview(videoId)) d.logger.info({ videoId }, 'preview of an earlier attempt withdrawn');
  // Before this attempt makes its own temp dirs (a worker SIGKILLed mid-transcode leaves its dirs behind).
  await removeStaleWorkDirs(d.workDir, videoId);
  // The staged source (a temp copy when it came from the bucket) is removed on every way out of this attempt.
  const staged = await prepareSource(job, d);
  try {
    return await runPrepared(job, d, staged.prepared, { started, clock, release: () => staged.release() });
  } finally {
    await staged.release();
  }
}

async function runPrepared(
  job: Job<TranscodeJobData>,
  d: PipelineDeps,
  prepared: PreparedMaster,
  t: { started: number; clock: ReturnType<typeof stageClock>; release: () => Promise<void> },
): Promise<{ masterKey: string }> {
  const { videoId } = job.data;
  const { started, clock } = t;
  clock.lap('scanStrip');
  await d.videos.markProcessing(videoId, 'probe');
  // Decided once per attempt: the slots the chunk workers have may change while this job runs.
  let chunkDecision: Promise<boolean> | undefined;
  const chunked = (p: SourceProbe): Promise<boolean> => (chunkDecision ??= d.chunking?.plan(p) ?? Promise.resolve(false));
  const {
    input: source,
    probe,
    fromUpload,
  } = await ladderSource(prepared, {
    ffprobePath: d.ffprobePath,
    allowRemux: job.attemptsMade === 0,
    watermark: d.watermark,
    chunked,
    probeFailed: (err) => failFinally(err, videoId, d),
  });
  clock.lap('probe');
  await d.videos.markProcessing(videoId, 'transcode', probe);
  const gate = scanGate(prepared, d.signal);
  if (d.chunking && (await chunked(probe))) {
    await prepared.discarded.catch(() => undefined); // its failure is the gate's, which runChunked waits for first
    return runChunked(job, d, d.chunking, { probe, sourcePath: source.path, gate, release: t.release, started, clock });
  }
  // The archive keeps the scanned, metadata-stripped master (never the raw upload), verified by sha256 read-back. It
  // is copied once the scan cleared it, while the ladder encodes; the row turns ready only when both are done.
  const archived = d.archive ? archiveInBackground(d.archive, videoId, prepared.master, d, gate.cleared) : undefined;
  const work = await makeJobDir(d.workDir, videoId);
  const prefix = hlsPrefix(videoId);
  const masterKey = `${prefix}/${MASTER_NAME}`;
  // The work dir is removed before the row says ready: whoever sees `ready` (a user, a test, the orphan sweep) never
  // finds this job's temp files still on disk.
  const { pkg, artwork, timings } = await packageInWorkDir(job, d, { work, prefix, masterKey, source, probe, gate, fromUpload })
    .finally(() => prepared.uploadRead())
    .catch(async (err: unknown) => {
      // A transcode stopped by a bad verdict fails with the verdict.
      if (gate.closed()) await gate.cleared;
      // A retryable failure waits for the scan and the archive copy, so the retry never races either on the same
      // files; a final one (a cancel, a verdict) does not hold the worker for them.
      if (!(err instanceof UnrecoverableError)) await Promise.allSettled([gate.cleared, archived?.settled, prepared.discarded]);
      throw err;
    })
    .finally(() => rm(work, { recursive: true, force: true }));
  clock.lap('package');
  await gate.cleared;
  await prepared.discarded;
  await archived?.result();
  // As the work dir above: no temp copy of the source outlives the row turning ready.
  await t.release();
  clock.lap('archiveWait');
  await d.videos.setProgress(videoId, 'package', 100);
  await d.videos.setArtwork(videoId, artwork);
  // Also stores the video.ready webhook event, in the same transaction (the outbox relay delivers it).
  await d.videos.markReady(videoId, { hlsPrefix: prefix, masterKey, renditions: renditionRows(prefix, pkg.renditions) });
  clock.lap('ready');
  d.logger.info({ videoId, ms: { ...clock.laps, ...timings } }, 'video ready');
  const wallSec = (performance.now() - started) / 1000;
  d.metrics?.transcodeSeconds.observe({ outcome: 'ready' }, wallSec);
  if (wallSec > 0) d.metrics?.transcodeRealtimeFactor.observe(probe.durationSec / wallSec);
  return { masterKey };
}

/** Transcode + progressive publish + artwork inside one work dir; the caller removes the dir. */
async function packageInWorkDir(
  job: Job<TranscodeJobData>,
  d: PipelineDeps,
  w: { work: string; prefix: string; masterKey: string; source: MediaInput; probe: SourceProbe; gate: ScanGate; fromUpload: boolean },
): Promise<Pick<PackagedTranscodeResult, 'pkg' | 'artwork' | 'timings'>> {
  const { videoId } = job.data;
  // The row first: it is the record, and a job Redis lost must not stop it moving. job.updateProgress also tells
  // other processes (QueueEvents) how far the job is.
  const progress = throttled(
    async (p) => {
      await d.videos.setProgress(videoId, 'transcode', p);
      await job.updateProgress(Math.round(p));
    },
    1000,
    d.logger,
  );
  await clearPrefix(d.storage, w.prefix);
  // Progressive publishing: the row turns previewable as soon as every rung's first segment is public.
  const { pkg, artwork, timings } = await transcodeAndPackage({
    ffmpegPath: d.ffmpegPath,
    ffprobePath: d.ffprobePath,
    source: w.source,
    probe: w.probe,
    workDir: w.work,
    storage: d.storage,
    prefix: w.prefix,
    logger: d.logger,
    threads: d.ffmpegThreads,
    niceness: d.ffmpegNice,
    preset: d.preset,
    watermark: d.watermark,
    onProgress: progress.report,
    pool: d.pool,
    signal: w.gate.signal,
    publishGate: w.gate.cleared,
    // Retries re-encode everything: if a stream copy tripped the muxer (e.g. non-monotonic DTS under -xerror),
    // the next attempt must not take the same path. The upload's streams are never copied (ladder-source.ts).
    allowRemux: job.attemptsMade === 0 && !w.fromUpload,
    onPlayable: async () => {
      await d.videos.markPreviewable(videoId, { hlsPrefix: w.prefix, masterKey: w.masterKey });
      d.logger.info({ videoId }, 'video previewable');
    },
  }).catch(async (err: unknown) => {
    // Reading the upload, the ladder can fail before the strip judged the same bytes (a truncated file): the strip's
    // and the scan's verdicts come first, as they did when the ladder only started after the strip. A cancel says
    // nothing about the bytes and does not wait for them.
    if (w.fromUpload && !isPipelineError(err, 'TRANSCODE_CANCELLED')) await Promise.allSettled([w.gate.cleared]);
    if (w.gate.closed()) return Promise.reject(err);
    // A video that ends here keeps nothing of what was published while it encoded (the first segments go out within
    // seconds): no row points at it and no retry would replace it. A retry clears the prefix itself before it starts.
    if (isInputError(err) || isPipelineError(err, 'TRANSCODE_CANCELLED') || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      await clearPrefix(d.storage, w.prefix).catch((e: unknown) =>
        d.logger.warn({ videoId, err: describeError(e) }, 'could not remove the partly published package'),
      );
    }
    return failFinally(err, videoId, d);
  });
  await progress.flush();
  return { pkg, artwork, timings };
}
