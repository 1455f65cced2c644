import { hostname } from 'node:os';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';
import { ownedWorkDirPrefix } from '../ingest/video-files.ts';
import { prepareMaster, reusedMaster, type PreparedMaster, type PrepareMasterOptions, type SourceKeeping } from './prepare.ts';
import { finalIfVerdict } from './scan-gate.ts';
import { bucketRef, quarantineKey, type BucketSources, type VideoSources } from './sources.ts';

export interface SourceStepDeps {
  readonly videos: VideoRepository;
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  readonly logger: Logger;
  /** Parent of per-job temp dirs (DATA_DIR/work of this host). */
  readonly workDir: string;
  readonly ingest: Omit<PrepareMasterOptions, 'videos' | 'ffmpegPath' | 'ffprobePath' | 'logger'>;
  /** Where uploads and masters are; default the data volume (ingest.mastersDir). */
  readonly sources?: VideoSources;
}

/** The master an attempt transcodes, and the temp dir (if any) it sits in: `release()` removes it, idempotently. */
export interface StagedSource {
  readonly prepared: PreparedMaster;
  release(): Promise<void>;
}

/** The temp dir of one job of `videoId` in this process (a restart removes its own leftovers by the name). */
export async function makeJobDir(workDir: string, videoId: string): Promise<string> {
  await mkdir(workDir, { recursive: true });
  return mkdtemp(path.join(workDir, ownedWorkDirPrefix(videoId, { host: hostname(), pid: process.pid })));
}

/** Master put before it is recorded; upload object deleted or moved to quarantine/ (see sources.ts). */
function bucketKeeping(bucket: BucketSources, videoId: string): SourceKeeping {
  return {
    // The row's quarantine_path names the object, marked as a bucket key so nobody looks for it on a disk.
    quarantineLocation: () => bucketRef(quarantineKey(videoId)),
    quarantine: () => bucket.quarantine(videoId),
    keepMaster: (localPath, key) => bucket.keepMaster(localPath, key),
    discardUpload: () => bucket.discardUpload(videoId),
  };
}

/**
 * Scan beside validate → strip, from wherever the job's upload is. A job naming a path works on the data volume as
 * before. A job naming a bucket key works in a temp dir of this host: a recorded master is fetched (retries, other
 * hosts), else the upload is fetched, scanned and stripped, and the master put into the bucket before it is recorded.
 * A source that is not there fails with TRANSCODE_SOURCE_MISSING (retried like any failure: another worker may see a
 * path this one cannot, then the video fails with that code), never as a scanner outage.
 */
export async function prepareSource(job: Job<TranscodeJobData>, d: SourceStepDeps): Promise<StagedSource> {
  const { videoId } = job.data;
  const opts = { ...d.ingest, videos: d.videos, ffmpegPath: d.ffmpegPath, ffprobePath: d.ffprobePath, logger: d.logger };
  if (job.data.sourcePath !== undefined) {
    const prepared = await prepareMaster(videoId, job.data.sourcePath, opts).catch((err: unknown) => Promise.reject(finalIfVerdict(err)));
    return { prepared, release: async () => undefined };
  }
  const bucket = d.sources?.kind === 'bucket' ? d.sources : undefined;
  if (!bucket) {
    throw new PipelineError('TRANSCODE_SOURCE_MISSING', 'The job names a bucket key but this worker has STORAGE_DRIVER=local.', {
      where: job.data.sourceObject,
    });
  }
  const stage = await makeJobDir(d.workDir, videoId);
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => (released ??= rm(stage, { recursive: true, force: true }));
  try {
    const v = await d.videos.get(videoId);
    const kept = v?.stripped_master_key ? await bucket.fetchMaster(v.stripped_master_key, stage) : undefined;
    if (kept) {
      // As locally: a run that died between recording the master and deleting the upload leaves the raw upload (with its
      // location tags) in incoming/; whoever starts from the master finishes the deletion.
      await bucket.discardUpload(videoId);
      return { prepared: reusedMaster(kept), release };
    }
    const upload = path.join(stage, 'upload');
    // An infected verdict is already recorded: prepareMaster only finishes the move to quarantine, nothing is read.
    if (v?.status !== 'infected') await bucket.download(job.data.sourceObject, upload);
    const prepared = await prepareMaster(videoId, upload, {
      ...opts,
      mastersDir: path.join(stage, 'masters'),
      keeping: bucketKeeping(bucket, videoId),
    });
    return { prepared, release };
  } catch (err) {
    await release();
    throw finalIfVerdict(err);
  }
}
