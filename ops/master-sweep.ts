import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { VideoRepository } from '../db/videos.ts';
import { sweepOrphanMasters, type MasterSweepOptions, type MasterSweepResult } from '../ingest/master-sweep.ts';
import { VideoFiles } from '../ingest/video-files.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { isMain, runCli, withDbAndStorages } from './cli.ts';
import type { AppConfig } from './config.ts';
import { hlsPrefix } from '../pipeline/job.ts';
import { sourcesOf } from './shared-root.ts';

/** The data-volume layout of a config, for deletion and the sweep. */
export const videoFilesOf = (c: AppConfig): VideoFiles =>
  new VideoFiles({ uploadDir: c.uploadDir, mastersDir: c.mastersDir, workDir: c.workDir });

/** Sweep dependencies: the row lookup, the local layout and the published HLS of deleted videos. */
export function masterSweepDeps(o: {
  config: AppConfig;
  videos: VideoRepository;
  storage: ObjectStorage;
  logger: Logger;
}): MasterSweepOptions {
  const sources = sourcesOf(o.config, { publish: o.storage });
  return {
    files: videoFilesOf(o.config),
    bucket: sources.kind === 'bucket' ? sources : undefined,
    statusesOf: (ids) => o.videos.statusesOf(ids),
    removePublished: async (videoId) => {
      const keys = await o.storage.list(`${hlsPrefix(videoId)}/`);
      for (const key of keys) await o.storage.delete(key);
      return keys.length;
    },
    logger: o.logger,
  };
}

/**
 * Runs the orphan-master sweep periodically in worker processes (first run after one interval; a run still going when
 * the next is due is not doubled).
 */
export function startMasterSweepTimer(o: MasterSweepOptions & { readonly everyMs: number; readonly logger: Logger }): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepOrphanMasters(o)
      .then((r) => {
        if (r.removed.length) o.logger.info({ removed: r.removed.length, kept: r.kept }, 'orphan master sweep');
      })
      .catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'orphan master sweep failed'))
      .finally(() => {
        running = false;
      });
  }, o.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** One sweep from the command line (`npm run sweep-masters`), e.g. from cron with MASTER_SWEEP_INTERVAL_SEC=0. */
export async function runMasterSweepOnce(config: AppConfig, logger: Logger): Promise<MasterSweepResult> {
  return withDbAndStorages(config, logger, (sql, storages) =>
    sweepOrphanMasters(masterSweepDeps({ config, videos: new VideoRepository(sql), storage: storages.publish, logger })),
  );
}

if (isMain(import.meta.url)) {
  const usage = `usage: npm run sweep-masters
  Removes the stripped masters, raw uploads and work dirs of videos that no longer exist (deleted or never recorded)
  and the published HLS of deleted videos. Idempotent; the API process runs it on a timer as well.`;
  runCli('master-sweep', usage, runMasterSweepOnce, (r, logger) =>
    logger.info({ removed: r.removed, kept: r.kept }, 'orphan master sweep done'),
  );
}
