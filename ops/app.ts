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
import { VideoRepository } from '../db/videos.ts';
import { createUploadFinisher } from '../ingest/finish.ts';
import { TusIngest } from '../ingest/tus.ts';
import { UploadTokens } from '../ingest/upload-token.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import type { AppConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg-binaries.ts';
import { processTranscodeJob } from './pipeline.ts';
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
  const dirs = [config.uploadDir, config.workDir, config.publishDir, config.mastersDir, config.quarantineDir];
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));

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
    const storage = new LocalDiskStorage({ root: config.publishDir });
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
          ingest: {
            clamd: config.clamd, quarantineDir: config.quarantineDir, mastersDir: config.mastersDir,
            maxDurationSec: config.maxDurationSec,
          },
        }),
        { connection, prefix: config.queuePrefix, concurrency: config.workerConcurrency },
      );
      worker.on('failed', (job, err) => {
        logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, 'transcode job failed');
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
          const code = (err as { code?: string }).code ?? 'TRANSCODE_FFMPEG_FAILED';
          videos.get(job.data.videoId).then((v) => {
            if (v && v.status !== 'rejected' && v.status !== 'infected') return videos.markFailed(job.data.videoId, 'failed', code, err.message);
          }).catch((e: unknown) => logger.error({ err: describeError(e) }, 'could not record failure'));
        }
      });
      worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
      cleanups.push(() => worker.close());
    }
    if (roles.has('api')) {
      const uploadTokens = new UploadTokens({ secret: config.uploadTokenSecret, ttlSec: config.uploadTokenTtlSec });
      const tus = new TusIngest({
        uploadDir: config.uploadDir,
        path: '/uploads',
        maxSize: config.maxUploadBytes,
        tokens: uploadTokens,
        expirationMs: config.uploadExpiryMs,
        logger,
        onFinished: createUploadFinisher({ videos, queue }),
      });
      if (config.uploadCleanupIntervalMs > 0) {
        // tus expiration: sweep unfinished uploads past Upload-Expires; finished ones are never touched.
        const timer = setInterval(() => {
          tus.cleanUpExpired().then(
            (n) => n > 0 && logger.info({ removed: n }, 'expired uploads removed'),
            (err: unknown) => logger.error({ err: describeError(err) }, 'expired-upload sweep failed'),
          );
        }, config.uploadCleanupIntervalMs);
        timer.unref();
        cleanups.push(async () => clearInterval(timer));
      }
      api = await buildApi({ logger, videos, storage, tus, uploadTokens, playerDir: PLAYER_DIR });
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
