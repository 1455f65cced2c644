import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { createMetrics, type PipelineMetrics } from '../core/metrics.ts';
import { QUEUE_NAMES, type EventPublisher } from '../core/types.ts';
import { createTokenVerifier } from '../api/auth.ts';
import { PlaybackSigner } from '../api/playback/signing.ts';
import { buildApi } from '../api/server.ts';
import { createWebhookProcessor } from '../api/webhooks/deliver.ts';
import { createWebhookPublisher, type WebhookJobData } from '../api/webhooks/publisher.ts';
import { VideoAdminRepository } from '../db/video-admin.ts';
import { createDb } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { ArchiveRecords } from '../db/archive-records.ts';
import { UploadQuotaLedger } from '../db/upload-quota.ts';
import { VideoRepository } from '../db/videos.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { archiveKeyFor } from '../storage/archive/archive.ts';
import { applyStreamVideo } from '../pipeline/stream-offload.ts';
import { createUploadFinisher } from '../pipeline/intake.ts';
import { TusIngest } from '../ingest/tus.ts';
import { UploadTokens } from '../ingest/upload-token.ts';
import { FfmpegPool } from '../transcoder/pool.ts';
import type { AppConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg-binaries.ts';
import { masterSweepDeps, startMasterSweepTimer, videoFilesOf } from './master-sweep.ts';
import { processTranscodeJob } from '../pipeline/job.ts';
import { createReadinessChecks } from './readiness.ts';
import { startRetentionTimer } from './retention.ts';
import { openStorages } from './storage-factory.ts';
import { redisConnection } from './redis.ts';
import { cancelTranscode, createTranscodeQueue, startTranscodeWorker, type CancelOutcome } from '../pipeline/queue.ts';

export type Role = 'api' | 'worker';

export interface StartAppOptions {
  readonly config: AppConfig;
  /** Which parts run in this process; default both. */
  readonly roles?: readonly Role[];
  readonly logger: Logger;
  /** Clock (ms) of playback signatures and the playback access cache; default Date.now. Tests move it forward. */
  readonly now?: () => number;
}

export interface RunningApp {
  /** Base URL of the API when the api role runs. */
  readonly url: string | undefined;
  readonly api: FastifyInstance | undefined;
  readonly metrics: PipelineMetrics;
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
    const queueOpts = { connection, prefix: config.queuePrefix, attempts: config.transcodeAttempts, backoffMs: config.transcodeBackoffMs };
    const queue = createTranscodeQueue(queueOpts);
    cleanups.push(() => queue.close());
    const metrics = createMetrics();
    const webhookQueue = new Queue<WebhookJobData>(QUEUE_NAMES.webhook, { connection, prefix: config.queuePrefix });
    cleanups.push(() => webhookQueue.close());
    metrics.trackQueues([queue, webhookQueue]);
    const cancel = (videoId: string): Promise<CancelOutcome> =>
      cancelTranscode({ queue, redisUrl: config.redisUrl, prefix: config.queuePrefix, videos }, videoId);
    const wh = config.webhooks;
    const events: EventPublisher = createWebhookPublisher({ queue: webhookQueue, urls: wh.urls, attempts: wh.attempts, backoffMs: wh.backoffMs });

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
        metrics, events,
        process: (job, signal, cancelRequested) => processTranscodeJob(job, {
          videos, storage, ffmpegPath: bin.ffmpegPath, ffprobePath: bin.ffprobePath, workDir: config.workDir,
          logger: logger.child({ job: job.id }), ffmpegThreads: config.ffmpegThreads, preset: config.x264Preset, pool, signal, cancelRequested,
          metrics, events,
          archive: archiveDeps && { ...archiveDeps, logger: logger.child({ job: job.id }) },
          ingest: {
            clamd: config.clamd, quarantineDir: config.quarantineDir, mastersDir: config.mastersDir,
            maxDurationSec: config.maxDurationSec,
          },
        }),
      });
      // Closed before the pool (cleanups run in reverse): the worker lets its current job finish first.
      cleanups.push(() => worker.close());
      if (wh.urls.length && wh.secret) {
        const deliver = createWebhookProcessor({ sql, secret: wh.secret, timeoutMs: wh.timeoutMs, metrics });
        const whWorker = new Worker<WebhookJobData>(QUEUE_NAMES.webhook, deliver, { connection, prefix: config.queuePrefix, concurrency: 4 });
        whWorker.on('failed', (job, err) => logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, 'webhook delivery failed'));
        whWorker.on('error', (err) => logger.error({ err: err.message }, 'webhook worker error'));
        cleanups.push(() => whWorker.close());
      }
      if (storages.archive && sc.stagingSweepHours > 0) {
        const timer = startRetentionTimer({
          records, archive: storages.archive, retentionDays: sc.stagingRetentionDays, everyMs: sc.stagingSweepHours * 3600_000, logger,
          stream: storages.stream,
          localStores: [storages.publish, storages.archive].filter((x): x is LocalDiskStorage => x instanceof LocalDiskStorage),
        });
        cleanups.push(async () => timer.stop());
      }
      if (config.masterSweepIntervalMs > 0) {
        const timer = startMasterSweepTimer({ ...masterSweepDeps({ config, videos, storage, logger }), everyMs: config.masterSweepIntervalMs, logger });
        cleanups.push(async () => timer.stop());
      }
    }
    if (roles.has('api')) {
      const uploadTokens = new UploadTokens({ secret: config.uploadTokenSecret, ttlSec: config.uploadTokenTtlSec });
      const tus = new TusIngest({
        uploadDir: config.uploadDir,
        path: '/uploads',
        maxSize: config.maxUploadBytes,
        tokens: uploadTokens,
        expirationMs: config.uploadExpiryMs,
        quota: new UploadQuotaLedger({ sql, ...config.uploadQuota, expiryMs: config.uploadExpiryMs }),
        logger,
        onFinished: async (u) => {
          const res = await createUploadFinisher({ videos, queue })(u);
          metrics.uploadBytes.inc(u.size);
          return res;
        },
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
      // clamd is a dependency of the worker role (it scans); an API-only process reports it skipped.
      const readiness = createReadinessChecks({
        sql, redisUrl: config.redisUrl, clamd: roles.has('worker') ? config.clamd : undefined, ffmpegPath: bin.ffmpegPath, storage,
      });
      cleanups.push(() => readiness.close());
      if (!config.playback.signingKey) logger.warn('PLAYBACK_SIGNING_KEY unset: using a random key; playback URLs die with this process');
      api = await buildApi({
        logger, videos, admin: new VideoAdminRepository(sql), storage, tus, uploadTokens, playerDir: PLAYER_DIR, metrics, events,
        verifier: createTokenVerifier(config.jwt),
        signer: new PlaybackSigner({
          key: config.playback.signingKey ?? randomBytes(32).toString('hex'), ttlSec: config.playback.ttlSec,
          previewTtlSec: config.playback.previewTtlSec, now: o.now,
        }),
        playbackAccessCacheMs: config.playback.accessCacheMs, now: o.now,
        readiness: readiness.checks, readinessCacheMs: config.readinessCacheMs, corsOrigins: config.corsOrigins, rateLimit: config.rateLimit,
        trustProxy: config.trustProxy,
        files: videoFilesOf(config),
        // Waiting jobs are removed; a running one is signalled and stops (its ffmpeg is killed) before publishing.
        cancelJob: async (id) => { await cancel(id); },
        archive: storages.archive ? { delete: (id) => storages.archive!.delete(archiveKeyFor(id)) } : undefined,
        streamWebhook: sc.stream?.webhookSecret
          ? { secret: sc.stream.webhookSecret, onVideo: (v) => applyStreamVideo(records, v), now: () => new Date() } : undefined,
        signedObjects: storages.archiveUrls ? [storages.archiveUrls] : [],
      });
      cleanups.push(() => api!.close());
      url = await api.listen({ host: config.host, port: config.port });
      logger.info({ url }, 'api listening');
    }
    return { url, api, metrics, close, cancelTranscode: cancel };
  } catch (err) {
    await close();
    throw err;
  }
}
