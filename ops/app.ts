import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { QUEUE_NAMES, type TranscodeJobData } from '../core/types.ts';
import { buildApi } from '../api/server.ts';
import { createDb } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { ArchiveRecords } from '../db/archive-records.ts';
import { VideoRepository } from '../db/videos.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { applyStreamVideo } from '../storage/stream/offload.ts';
import { createUploadFinisher } from '../ingest/finish.ts';
import { createTusServer } from '../ingest/tus.ts';
import type { AppConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg-binaries.ts';
import { processTranscodeJob } from './pipeline.ts';
import { startRetentionTimer } from './retention.ts';
import { openStorages } from './storage-factory.ts';
import { redisConnection } from './redis.ts';

export type Role = 'api' | 'worker';

export interface StartAppOptions {
  readonly config: AppConfig;
  /** Which parts run in this process; default both. */
  readonly roles?: readonly Role[];
  readonly logger: Logger;
}

export interface RunningApp {
  /** Base URL of the API when the api role runs. */
  readonly url: string | undefined;
  readonly api: FastifyInstance | undefined;
  /** Idempotent: stops the worker (letting the current job finish), the API, queues and the pool. */
  close(): Promise<void>;
}

const PLAYER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'player');
/** Attempts per transcode job before it is marked failed; backoff doubles from 5 s. */
export const TRANSCODE_ATTEMPTS = 3;

export async function startApp(o: StartAppOptions): Promise<RunningApp> {
  const { config, logger } = o;
  const roles = new Set(o.roles ?? ['api', 'worker']);
  const bin = await resolveFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
  logger.info({ ffmpeg: bin.ffmpegPath, version: bin.version }, 'ffmpeg resolved');
  await Promise.all([config.uploadDir, config.workDir, config.publishDir].map((d) => mkdir(d, { recursive: true })));

  const cleanups: Array<() => Promise<unknown>> = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    // Memoised; every cleanup runs even if an earlier one throws, in reverse order of creation.
    closing ??= (async () => {
      for (const fn of cleanups.reverse()) {
        await fn().catch((err: unknown) => logger.error({ err: describeError(err) }, 'cleanup failed'));
      }
    })();
    return closing;
  };

  try {
    const sql = createDb({ url: config.databaseUrl });
    cleanups.push(() => sql.end({ timeout: 5 }));
    const { applied } = await migrate(sql);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    const videos = new VideoRepository(sql);
    const records = new ArchiveRecords(sql);
    const storages = await openStorages(config, logger);
    cleanups.push(() => storages.close());
    const storage = storages.publish;
    const sc = config.storage;
    const archiveDeps = storages.archive ? {
      archive: storages.archive, records, logger, attempts: sc.archiveAttempts, now: () => new Date(),
      stream: storages.stream && sc.stream ? { client: storages.stream, requireSignedURLs: sc.stream.requireSignedURLs } : undefined,
    } : undefined;
    const connection = redisConnection(config.redisUrl);
    const queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
      connection,
      prefix: config.queuePrefix,
      defaultJobOptions: {
        attempts: TRANSCODE_ATTEMPTS,
        backoff: { type: 'exponential', delay: 5000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    });
    cleanups.push(() => queue.close());

    let api: FastifyInstance | undefined;
    let url: string | undefined;
    if (roles.has('worker')) {
      const worker = new Worker<TranscodeJobData>(
        QUEUE_NAMES.transcode,
        (job) => processTranscodeJob(job, {
          videos, storage, ffmpegPath: bin.ffmpegPath, ffprobePath: bin.ffprobePath, workDir: config.workDir,
          logger: logger.child({ job: job.id }), ffmpegThreads: config.ffmpegThreads,
          archive: archiveDeps && { ...archiveDeps, logger: logger.child({ job: job.id }) },
        }),
        { connection, prefix: config.queuePrefix, concurrency: config.workerConcurrency },
      );
      worker.on('failed', (job, err) => {
        logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, 'transcode job failed');
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
          const code = (err as { code?: string }).code ?? 'TRANSCODE_FFMPEG_FAILED';
          videos.get(job.data.videoId).then((v) => {
            if (v && v.status !== 'rejected') return videos.markFailed(job.data.videoId, 'failed', code, err.message);
          }).catch((e: unknown) => logger.error({ err: describeError(e) }, 'could not record failure'));
        }
      });
      worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
      cleanups.push(() => worker.close());
      if (storages.archive && sc.stagingSweepHours > 0) {
        const timer = startRetentionTimer({
          records, archive: storages.archive, retentionDays: sc.stagingRetentionDays, everyMs: sc.stagingSweepHours * 3600_000, logger,
          stream: storages.stream,
          localStores: [storages.publish, storages.archive].filter((x): x is LocalDiskStorage => x instanceof LocalDiskStorage),
        });
        cleanups.push(async () => timer.stop());
      }
    }
    if (roles.has('api')) {
      const tus = createTusServer({
        uploadDir: config.uploadDir,
        path: '/uploads',
        maxSize: config.maxUploadBytes,
        onFinished: createUploadFinisher({ videos, queue }),
      });
      const secret = sc.stream?.webhookSecret;
      api = await buildApi({
        logger, videos, storage, tus, playerDir: PLAYER_DIR,
        streamWebhook: secret ? { secret, onVideo: (v) => applyStreamVideo(records, v), now: () => new Date() } : undefined,
        signedObjects: storages.archiveUrls ? [storages.archiveUrls] : [],
      });
      cleanups.push(() => api!.close());
      url = await api.listen({ host: config.host, port: config.port });
      logger.info({ url }, 'api listening');
    }
    return { url, api, close };
  } catch (err) {
    await close();
    throw err;
  }
}
