import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { MASTER_NAME } from '../packager/package.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { probeSource } from '../transcoder/probe.ts';
import type { Logger } from '../transcoder/run-ffmpeg.ts';
import { transcodeAndPackage } from './package-stage.ts';

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

/** One transcode job: probe → ladder → master playlist → publish → ready. Temp dir always removed. */
export async function processTranscodeJob(job: Job<TranscodeJobData>, d: PipelineDeps): Promise<{ masterKey: string }> {
  const { videoId, sourcePath } = job.data;
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
    const prefix = hlsPrefix(videoId);
    const masterKey = `${prefix}/${MASTER_NAME}`;
    // Progressive publishing (issue 5): the row turns previewable as soon as every rung's first segment is public.
    const { pkg, artwork } = await transcodeAndPackage({
      ffmpegPath: d.ffmpegPath, source: sourcePath, probe, workDir: work, storage: d.storage, prefix, logger: d.logger,
      threads: d.ffmpegThreads, preset: d.preset, onProgress: report,
      onPlayable: () => d.videos.markPreviewable(videoId, { hlsPrefix: prefix, masterKey }),
    });
    await d.videos.setProgress(videoId, 'package', 100);
    await d.videos.setArtwork(videoId, artwork);
    await d.videos.markReady(videoId, {
      hlsPrefix: prefix,
      masterKey,
      renditions: pkg.renditions.map((r) => ({
        name: r.name, kind: r.kind, width: r.width, height: r.height, fps: r.fps, codecs: r.codecs,
        bandwidth: r.bandwidth, average_bandwidth: r.averageBandwidth, playlist_key: `${prefix}/${r.playlist}`, size_bytes: r.sizeBytes,
      })),
    });
    return { masterKey };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
