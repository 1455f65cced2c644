import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { buildApi } from '../api/server.ts';
import { createDb } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { VideoRepository } from '../db/videos.ts';
import { createUploadFinisher } from '../ingest/finish.ts';
import { createTusServer } from '../ingest/tus.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { FfmpegPool } from '../transcoder/pool.ts';
import type { AppConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg-binaries.ts';
import { processTranscodeJob } from './pipeline.ts';
import { redisConnection } from './redis.ts';
import { cancelTranscode, createTranscodeQueue, startTranscodeWorker, type CancelOutcome } from './transcode-queue.ts';

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
  /** Cancels a video's transcode wherever it runs (see ops/transcode-queue.ts); the video ends TRANSCODE_CANCELLED. */
  cancelTranscode(videoId: string): Promise<CancelOutcome>;
  /** Idempotent: stops the worker (letting the current job finish), the API, queues and the pool. */
  close(): Promise<void>;
}

const PLAYER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'player');

export async function startApp(o: StartAppOptions): Promise<RunningApp> {
  const { config, logger } = o;
  const roles = new Set(o.roles ?? ['api', 'worker']);
  const bin = await resolveFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
  logger.info({ ffmpeg: bin.ffmpegPath, version: bin.version, setpriv: bin.setprivPath }, 'ffmpeg resolved');
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
    const storage = new LocalDiskStorage({ root: config.publishDir });
    const connection = redisConnection(config.redisUrl);
    const queueOpts = { connection, prefix: config.queuePrefix, attempts: config.transcodeAttempts, backoffMs: config.transcodeBackoffMs };
    const queue = createTranscodeQueue(queueOpts);
    cleanups.push(() => queue.close());

    let api: FastifyInstance | undefined;
    let url: string | undefined;
    if (roles.has('worker')) {
      const pool = await FfmpegPool.create({
        ffmpegPath: bin.ffmpegPath, setprivPath: bin.setprivPath, logger, size: config.transcodePoolSize || undefined, killTimeoutMs: config.transcodeKillTimeoutMs,
      });
      cleanups.push(() => pool.close());
      logger.info({ threads: pool.size, concurrency: config.workerConcurrency }, 'ffmpeg pool started');
      const worker = await startTranscodeWorker({
        ...queueOpts, redisUrl: config.redisUrl, concurrency: config.workerConcurrency, videos, logger,
        lockDurationMs: config.jobLockMs, stalledIntervalMs: config.jobStalledIntervalMs, maxStalledCount: config.jobMaxStalled,
        process: (job, signal, cancelRequested) => processTranscodeJob(job, {
          videos, storage, ffmpegPath: bin.ffmpegPath, ffprobePath: bin.ffprobePath, workDir: config.workDir,
          logger: logger.child({ job: job.id }), ffmpegThreads: config.ffmpegThreads, preset: config.x264Preset, pool, signal, cancelRequested,
        }),
      });
      // Closed before the pool (cleanups run in reverse): the worker lets its current job finish first.
      cleanups.push(() => worker.close());
    }
    if (roles.has('api')) {
      const tus = createTusServer({
        uploadDir: config.uploadDir,
        path: '/uploads',
        maxSize: config.maxUploadBytes,
        onFinished: createUploadFinisher({ videos, queue }),
      });
      api = await buildApi({ logger, videos, storage, tus, playerDir: PLAYER_DIR });
      cleanups.push(() => api!.close());
      url = await api.listen({ host: config.host, port: config.port });
      logger.info({ url }, 'api listening');
    }
    const cancel = (videoId: string): Promise<CancelOutcome> =>
      cancelTranscode({ queue, redisUrl: config.redisUrl, prefix: config.queuePrefix, videos }, videoId);
    return { url, api, close, cancelTranscode: cancel };
  } catch (err) {
    await close();
    throw err;
  }
}
