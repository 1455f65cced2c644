import { hostname } from 'node:os';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createWebhookProcessor } from '../api/webhooks/deliver.ts';
import { startWebhookRelay, type WebhookJobData } from '../api/webhooks/relay.ts';
import { QUEUE_NAMES } from '../core/types.ts';
import { WebhookOutbox } from '../db/webhook-outbox.ts';
import { UnfinishedVideos } from '../db/unfinished-videos.ts';
import { processTranscodeJob } from '../pipeline/job.ts';
import { watchTranscodeJobs, withHeartbeat } from '../pipeline/job-watch.ts';
import { cancelMarkerKey, startTranscodeWorker } from '../pipeline/queue.ts';
import { processChunkJob } from '../pipeline/chunk-job.ts';
import { RunningParts, subscribeChunkCancels } from '../pipeline/chunk-cancel.ts';
import { CHUNK_QUEUE, redisPartResults, type ChunkJobData, type ChunkJobResult } from '../pipeline/chunked.ts';
import { chunkingDeps } from '../pipeline/chunked-run.ts';
import { chunkWorkerName } from '../pipeline/chunk-slots.ts';
import { Reconciler, startReconcileTimer } from '../pipeline/reconcile.ts';
import { checkStuckVideos } from '../pipeline/stuck-videos.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { FfmpegPool } from '../transcoder/pool.ts';
import { removeOwnStaleWorkDirs } from '../ingest/video-files.ts';
import type { Cleanups } from './cleanups.ts';
import { masterSweepDeps, startMasterSweepTimer } from './master-sweep.ts';
import { expireAnalyticsEvents, startRetentionTimer, startRowRetentionTimer } from './retention.ts';
import { loadWatermark } from './watermark-config.ts';
import type { WatermarkOptions } from '../transcoder/watermark.ts';
import { PersonalDataStore } from '../db/personal-data-store.ts';
import type { SharedResources } from './shared-root.ts';
import { serveWorkerMetrics } from './worker-metrics.ts';

export interface WorkerRoleOptions {
  /** Whether this process also runs the API role (which serves /metrics); otherwise WORKER_METRICS_PORT does. */
  readonly withApi: boolean;
}

/** Whether a process of this host still runs (signal 0 only checks; EPERM means it runs as someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The worker process role: the ffmpeg pool, the transcode and webhook workers, the outbox relay, the reconciler
 * and the periodic sweeps.
 */
export async function startWorkerRole(s: SharedResources, cleanups: Cleanups, o: WorkerRoleOptions): Promise<void> {
  const { config, logger, storages, videos } = s;
  // Before anything starts: a bad watermark stops the worker here, not every transcode later.
  const watermark = await loadWatermark(config.watermark, s.bin.ffprobePath);
  if (watermark) logger.info({ watermark: { ...watermark.image, corner: watermark.corner } }, 'watermark on');
  // Temp dirs a killed or crashed run of this process left on this host (a worker host's DATA_DIR is its own scratch).
  const stale = await removeOwnStaleWorkDirs(config.workDir, { host: hostname(), pid: process.pid }, isAlive);
  if (stale.length) logger.info({ removed: stale }, 'stale job temp dirs removed');
  const pool = await FfmpegPool.create({
    ffmpegPath: s.bin.ffmpegPath,
    setprivPath: s.bin.setprivPath,
    logger,
    size: config.transcodePoolSize || undefined,
    killTimeoutMs: config.transcodeKillTimeoutMs,
  });
  cleanups.push(() => pool.close());
  logger.info({ threads: pool.size, concurrency: config.workerConcurrency }, 'ffmpeg pool started');
  const sc = config.storage;
  const archive = storages.archive
    ? {
        archive: storages.archive,
        records: s.records,
        attempts: sc.archiveAttempts,
        now: () => new Date(),
        stream: storages.stream && sc.stream ? { client: storages.stream, requireSignedURLs: sc.stream.requireSignedURLs } : undefined,
      }
    : undefined;
  const chunkQueue = new Queue<ChunkJobData, ChunkJobResult>(CHUNK_QUEUE, { connection: s.connection, prefix: config.queuePrefix });
  cleanups.push(() => chunkQueue.close());
  const chunking =
    config.chunking.chunkSec > 0
      ? chunkingDeps(chunkQueue, config.chunking, { attempts: config.transcodeAttempts, backoffMs: config.transcodeBackoffMs })
      : undefined;
  const worker = await startTranscodeWorker({
    ...s.queueOpts,
    redisUrl: config.redisUrl,
    concurrency: config.workerConcurrency,
    videos,
    logger,
    lockDurationMs: config.jobLockMs,
    stalledIntervalMs: config.jobStalledIntervalMs,
    maxStalledCount: config.jobMaxStalled,
    metrics: s.metrics,
    dependencyBackoff: config.dependencyBackoff,
    process: (job, signal, cancelRequested, token) => {
      const jobLogger = logger.child({ job: job.id });
      const heartbeat = { videos, videoId: job.data.videoId, everyMs: config.jobLockMs / 2, logger: jobLogger };
      return withHeartbeat(heartbeat, () =>
        processTranscodeJob(job, {
          videos,
          storage: storages.publish,
          ffmpegPath: s.bin.ffmpegPath,
          ffprobePath: s.bin.ffprobePath,
          workDir: config.workDir,
          logger: jobLogger,
          ffmpegThreads: config.ffmpegThreads,
          ffmpegNice: config.ffmpegNice,
          preset: config.x264Preset,
          watermark,
          pool,
          signal,
          cancelRequested,
          metrics: s.metrics,
          archive: archive && { ...archive, logger: jobLogger },
          sources: s.sources,
          chunking,
          token,
          ingest: {
            clamd: config.clamd,
            quarantineDir: config.quarantineDir,
            mastersDir: config.mastersDir,
            maxDurationSec: config.maxDurationSec,
          },
        }),
      );
    },
  });
  // Closed before the pool (cleanups run in reverse): the worker lets its current job finish first.
  cleanups.push(() => worker.close());
  await startChunkWorker(s, cleanups, pool, watermark);
  watchTranscodeJobs({ worker: worker.worker, queue: s.queue, videos, logger, metrics: s.metrics });
  startReconciler(s, cleanups);
  if (!o.withApi && config.workerMetricsPort > 0) {
    const server = await serveWorkerMetrics({ metrics: s.metrics, host: config.host, port: config.workerMetricsPort, logger });
    cleanups.push(() => server.close());
  }
  const wh = config.webhooks;
  // Every worker process relays (SKIP LOCKED keeps them apart); without receivers it only marks events relayed.
  const relay = startWebhookRelay({
    outbox: new WebhookOutbox(s.sql),
    queue: s.webhookQueue,
    urls: wh.urls,
    attempts: wh.attempts,
    backoffMs: wh.backoffMs,
    intervalMs: wh.relayIntervalMs,
    metrics: s.metrics,
    logger,
  });
  cleanups.push(() => relay.stop());
  if (wh.urls.length && wh.secret) {
    const deliver = createWebhookProcessor({ sql: s.sql, secret: wh.secret, timeoutMs: wh.timeoutMs, metrics: s.metrics });
    const whWorker = new Worker<WebhookJobData>(QUEUE_NAMES.webhook, deliver, {
      connection: s.connection,
      prefix: config.queuePrefix,
      concurrency: 4,
    });
    whWorker.on('failed', (job, err) =>
      logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, 'webhook delivery failed'),
    );
    whWorker.on('error', (err) => logger.error({ err: err.message }, 'webhook worker error'));
    cleanups.push(() => whWorker.close());
  }
  if (storages.archive && sc.stagingSweepHours > 0) {
    const timer = startRetentionTimer({
      records: s.records,
      archive: storages.archive,
      retentionDays: sc.stagingRetentionDays,
      everyMs: sc.stagingSweepHours * 3600_000,
      logger,
      stream: storages.stream,
      localStores: [storages.publish, storages.archive].filter((x): x is LocalDiskStorage => x instanceof LocalDiskStorage),
      sourcesBucket: s.sources.kind === 'bucket' ? s.sources.storage : undefined,
    });
    cleanups.push(async () => timer.stop());
  }
  if (sc.stagingSweepHours > 0) {
    const timer = startRowRetentionTimer({
      store: new PersonalDataStore(s.sql),
      days: config.privacy.retentionDays,
      everyMs: sc.stagingSweepHours * 3600_000,
      logger,
      before: config.analytics.enabled ? () => expireAnalyticsEvents(s.sql, config, logger) : undefined,
    });
    cleanups.push(async () => timer.stop());
  }
  if (config.masterSweepIntervalMs > 0) {
    const timer = startMasterSweepTimer({
      ...masterSweepDeps({ config, videos, storage: storages.publish, logger }),
      everyMs: config.masterSweepIntervalMs,
      logger,
    });
    cleanups.push(async () => timer.stop());
  }
}

/**
 * PostgreSQL is the source of truth, Redis only carries work: at start and every RECONCILE_INTERVAL_SEC, one worker
 * process (advisory lock) re-queues unfinished videos whose job is gone; then every worker refreshes the stuck gauge.
 * Stopped before the database pool closes (cleanups run in reverse).
 */
function startReconciler(s: SharedResources, cleanups: Cleanups): void {
  const { config, logger, metrics } = s;
  const records = new UnfinishedVideos(s.sql);
  const reconciler = new Reconciler({
    records,
    videos: s.videos,
    queue: s.queue,
    uploadDir: config.uploadDir,
    mastersDir: config.mastersDir,
    sources: s.sources,
    logger,
    metrics,
    // Heartbeats come every half JOB_LOCK_MS; two lock durations without one and the worker is as dead as BullMQ says.
    heartbeatStaleMs: 2 * config.jobLockMs,
  });
  const minutes = config.stuckVideoMinutes;
  const timer = startReconcileTimer({
    reconciler,
    everyMs: config.reconcileIntervalMs,
    after: minutes > 0 ? () => checkStuckVideos({ records, minutes, logger, metrics }) : undefined,
    logger,
    metrics,
  });
  cleanups.push(() => timer.stop());
}

/**
 * Chunk jobs of long videos (pipeline/chunk-job.ts), taken by every worker process beside whole-video transcodes, as
 * many at once as WORKER_CONCURRENCY. A chunk whose worker dies is handed to another by BullMQ's stalled-job check,
 * and only that chunk is encoded again.
 */
async function startChunkWorker(
  s: SharedResources,
  cleanups: Cleanups,
  pool: FfmpegPool,
  watermark: WatermarkOptions | undefined,
): Promise<void> {
  const { config, logger, storages, videos } = s;
  // One connection for the cancel-marker check every chunk job makes when it starts, and the parts' results.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'chunk worker redis connection error'));
  const results = redisPartResults(redis, config.queuePrefix);
  const running = new RunningParts();
  const chunkWorker = new Worker<ChunkJobData, ChunkJobResult>(
    CHUNK_QUEUE,
    (job, _token, signal) => {
      const jobLogger = logger.child({ job: job.id });
      const heartbeat = { videos, videoId: job.data.videoId, everyMs: config.jobLockMs / 2, logger: jobLogger };
      return running.track(job.data.videoId, job.id ?? '', () =>
        withHeartbeat(heartbeat, () =>
          processChunkJob(job, {
            videos,
            storage: storages.publish,
            sources: s.sources,
            ffmpegPath: s.bin.ffmpegPath,
            workDir: config.workDir,
            logger: jobLogger,
            threads: config.ffmpegThreads,
            niceness: config.ffmpegNice,
            preset: config.x264Preset,
            watermark,
            pool,
            signal,
            results,
            cancelRequested: async () => (await redis.exists(cancelMarkerKey(config.queuePrefix, job.data.videoId))) === 1,
          }),
        ),
      );
    },
    {
      connection: s.connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      // Transcode jobs count the chunk slots of every connected worker by this name (pipeline/chunk-slots.ts).
      name: chunkWorkerName(config.workerConcurrency, hostname()),
      lockDuration: config.jobLockMs,
      stalledInterval: config.jobStalledIntervalMs,
      maxStalledCount: config.jobMaxStalled,
    },
  );
  chunkWorker.on('failed', (job, err) =>
    logger.warn({ job: job?.id, videoId: job?.data.videoId, attempt: job?.attemptsMade, err: err.message }, 'chunk job failed'),
  );
  chunkWorker.on('error', (err) => logger.error({ err: err.message }, 'chunk worker error'));
  const cancels = await subscribeChunkCancels({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    logger,
    running,
    cancelJob: (id, reason) => chunkWorker.cancelJob(id, reason),
  });
  cleanups.push(async () => {
    await cancels.close();
    await chunkWorker.close();
    redis.disconnect();
  });
}
