import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import type { EventPublisher, TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { isTerminalIngestError, prepareMaster, type PrepareMasterOptions } from '../ingest/prepare.ts';
import { MASTER_NAME, writeMaster } from '../packager/package.ts';
import { publishDirectory } from '../storage/publish.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { probeSource } from '../transcoder/probe.ts';
import type { Logger } from '../transcoder/run-ffmpeg.ts';
import { transcodeLadder } from '../transcoder/transcode.ts';

export interface PipelineDeps {
  readonly videos: VideoRepository;
  readonly storage: ObjectStorage;
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** Parent of per-job temp directories. */
  readonly workDir: string;
  readonly logger: Logger;
  readonly ffmpegThreads: number;
  readonly preset?: string;
  /** Scan → validate → strip settings (issue 3); the transcoder only ever sees the stripped master. */
  readonly ingest: Omit<PrepareMasterOptions, 'videos' | 'ffmpegPath' | 'ffprobePath' | 'logger'>;
  /** Transcode duration / ×realtime histograms; default none. */
  readonly metrics?: PipelineMetrics;
  /** Publishes video.ready (webhooks); default none. */
  readonly events?: EventPublisher;
}

/** Storage prefix of a video's published HLS package. */
export const hlsPrefix = (videoId: string): string => `hls/${videoId}`;

/** Errors caused by the upload itself: retrying cannot help, the video is rejected with the code. */
function isInputError(err: unknown): err is PipelineError {
  return isPipelineError(err) && (err.code === 'TRANSCODE_PROBE_FAILED' || err.code === 'TRANSCODE_NO_VIDEO');
}

/** Progress writes to Postgres at most every `ms`, the last one always. */
function throttled(fn: (p: number) => Promise<void>, ms: number): (p: number) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p < 100 && now - last < ms) return;
    last = now;
    fn(p).catch(() => undefined); // progress is advisory; the job result is what counts
  };
}

/** One job: scan → validate → strip → probe → ladder → master playlist → publish → ready. Temp dir always removed. */
export async function processTranscodeJob(job: Job<TranscodeJobData>, d: PipelineDeps): Promise<{ masterKey: string }> {
  const { videoId } = job.data;
  const started = performance.now();
  let sourcePath: string;
  try {
    sourcePath = await prepareMaster(videoId, job.data.sourcePath, {
      ...d.ingest, videos: d.videos, ffmpegPath: d.ffmpegPath, ffprobePath: d.ffprobePath, logger: d.logger,
    });
  } catch (err) {
    // Infected or invalid: already recorded on the video; retrying cannot change the verdict.
    if (isTerminalIngestError(err)) throw new UnrecoverableError(err.code);
    throw err;
  }
  await d.videos.markProcessing(videoId, 'probe');
  let probe;
  try {
    probe = await probeSource(sourcePath, { ffprobePath: d.ffprobePath });
  } catch (err) {
    if (isInputError(err)) {
      await d.videos.markFailed(videoId, 'rejected', err.code, err.message);
      throw new UnrecoverableError(err.code);
    }
    throw err;
  }
  await d.videos.markProcessing(videoId, 'transcode', probe);
  await mkdir(d.workDir, { recursive: true });
  const work = await mkdtemp(path.join(d.workDir, `${videoId}-`));
  try {
    const report = throttled(async (p) => {
      await job.updateProgress(Math.round(p));
      await d.videos.setProgress(videoId, 'transcode', p);
    }, 1000);
    const result = await transcodeLadder({
      ffmpegPath: d.ffmpegPath, source: sourcePath, probe, outDir: work, logger: d.logger,
      threads: d.ffmpegThreads, preset: d.preset, onProgress: report,
    });
    await d.videos.setProgress(videoId, 'package', 100);
    const pkg = await writeMaster(work, result.renditions);
    const prefix = hlsPrefix(videoId);
    await publishDirectory(d.storage, work, prefix);
    const masterKey = `${prefix}/${MASTER_NAME}`;
    await d.videos.markReady(videoId, {
      hlsPrefix: prefix,
      masterKey,
      renditions: pkg.renditions.map((r) => ({
        name: r.name, kind: r.kind, width: r.width, height: r.height, fps: r.fps, codecs: r.codecs,
        bandwidth: r.bandwidth, average_bandwidth: r.averageBandwidth, playlist_key: `${prefix}/${r.playlist}`, size_bytes: r.sizeBytes,
      })),
    });
    const wallSec = (performance.now() - started) / 1000;
    d.metrics?.transcodeSeconds.observe({ outcome: 'ready' }, wallSec);
    if (wallSec > 0) d.metrics?.transcodeRealtimeFactor.observe(probe.durationSec / wallSec);
    // A lost event must not fail a finished transcode (the video is ready either way); the error is logged.
    await d.events?.publish('video.ready', { videoId, masterKey, durationSec: probe.durationSec })
      .catch((err: unknown) => d.logger.error({ err: String(err), videoId }, 'could not queue video.ready'));
    return { masterKey };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
