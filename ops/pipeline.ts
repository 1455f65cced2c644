import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { MASTER_NAME, writeMaster } from '../packager/package.ts';
import { publishDirectory } from '../storage/publish.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { probeSource } from '../transcoder/probe.ts';
import type { Logger } from '../transcoder/run-ffmpeg.ts';
import { transcodeLadder } from '../transcoder/transcode.ts';
import { archiveAndOffload, type ArchiveStepDeps } from './archive-step.ts';

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
  /** Master archive (+ optional Stream offload), issue 6; absent when ARCHIVE_DRIVER=none. */
  readonly archive?: ArchiveStepDeps;
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
  if (d.archive) {
    // TODO(issue 3 merge): archive the scanned+stripped master, i.e. move this after the strip step.
    await d.videos.markProcessing(videoId, 'archive', probe);
    const title = (await d.videos.get(videoId))?.title ?? videoId;
    await archiveAndOffload(d.archive, { videoId, localPath: sourcePath, title });
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
    return { masterKey };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
