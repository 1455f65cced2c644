import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { describeError, PipelineError } from '../core/errors.ts';
import { ArchiveRecords } from '../db/archive-records.ts';
import { createDb } from '../db/client.ts';
import { createTranscodeQueue } from '../pipeline/queue.ts';
import { requeueTranscode } from '../pipeline/reconcile.ts';
import { restoreMaster, type RestoreResult } from '../pipeline/restore.ts';
import { exitOnHelp, isMain } from './cli.ts';
import { loadConfig, type AppConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { redisConnection } from '../pipeline/redis.ts';
import { sourcesOf } from './shared-root.ts';
import { openStorages } from './storage-factory.ts';

/**
 * Restores one video's master from the archive into the upload dir and re-queues its transcode
 * (`npm run restore -- <videoId>`). The worker's archive step then finds the verified copy and skips re-uploading.
 */
export async function runRestore(o: { config: AppConfig; videoId: string; logger: Logger }): Promise<RestoreResult> {
  const sql = createDb({ url: o.config.databaseUrl, max: 2 });
  const storages = await openStorages(o.config, o.logger).catch(async (err: unknown) => {
    await sql.end({ timeout: 5 });
    throw err;
  });
  const queue = createTranscodeQueue({
    connection: redisConnection(o.config.redisUrl),
    prefix: o.config.queuePrefix,
    attempts: o.config.transcodeAttempts,
    backoffMs: o.config.transcodeBackoffMs,
  });
  try {
    if (!storages.archive) throw new PipelineError('STORAGE_NOT_ARCHIVED', 'ARCHIVE_DRIVER is none: there is no archive to restore from.');
    return await restoreMaster({
      records: new ArchiveRecords(sql),
      archive: storages.archive,
      videoId: o.videoId,
      destDir: o.config.uploadDir,
      enqueue: async (data) => {
        // With the bucket, workers on other hosts cannot read this host's disk: the verified copy goes to incoming/
        // (scanned and stripped again like an upload) and the job names its key.
        const sources = sourcesOf(o.config, storages);
        const source = sources.kind === 'bucket' ? await sources.stageUpload(data.videoId, data.sourcePath) : data;
        if (sources.kind === 'bucket') await rm(data.sourcePath, { force: true });
        // One job per video (id = video id), so the reconciler sees this run: a kept finished job is replaced, and
        // a job still waiting or running is left to finish instead of a second one starting beside it.
        await requeueTranscode(queue, { videoId: data.videoId, ...source });
        return data.videoId;
      },
    });
  } finally {
    await Promise.allSettled([queue.close(), storages.close(), sql.end({ timeout: 5 })]);
  }
}

if (isMain(import.meta.url)) {
  exitOnHelp(`usage: npm run restore -- <videoId>
  Copies the video's verified master back from the archive (checking its sha256) and queues a new transcode; a job
  still waiting or running for the video is left to finish.`);
  const videoId = process.argv[2];
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { role: 'restore' } });
  if (!videoId) {
    console.error('usage: npm run restore -- <videoId>');
    process.exit(2);
  }
  runRestore({ config, videoId, logger }).then(
    (r) => logger.info({ videoId, ...r }, 'master restored; transcode queued'),
    (err: unknown) => {
      console.error(describeError(err));
      process.exit(1);
    },
  );
}
