import { mkdir } from 'node:fs/promises';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { WebhookJobData } from '../api/webhooks/relay.ts';
import { createMetrics, type PipelineMetrics } from '../core/metrics.ts';
import { QUEUE_NAMES, type TranscodeJobData } from '../core/types.ts';
import { ArchiveRecords } from '../db/archive-records.ts';
import { createDb, type Sql } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { VideoRepository } from '../db/videos.ts';
import { cancelTranscode, createTranscodeQueue, type CancelOutcome, type TranscodeQueueOptions } from '../pipeline/queue.ts';
import type { Cleanups } from './cleanups.ts';
import type { AppConfig } from './config.ts';
import { resolveFfmpeg, type FfmpegBinaries } from './ffmpeg-binaries.ts';
import { redisConnection, type RedisConnectionOptions } from '../pipeline/redis.ts';
import { BucketSources, LocalSources, type VideoSources } from '../pipeline/sources.ts';
import { openStorages, type Storages } from './storage-factory.ts';

/** What both process roles use: one database pool, the stores and the queues. */
export interface SharedResources {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly bin: FfmpegBinaries;
  readonly sql: Sql;
  readonly videos: VideoRepository;
  readonly records: ArchiveRecords;
  readonly storages: Storages;
  /** Where uploads and masters live between hosts: the bucket with STORAGE_DRIVER=s3, else the data volume. */
  readonly sources: VideoSources;
  readonly connection: RedisConnectionOptions;
  readonly queueOpts: TranscodeQueueOptions;
  readonly queue: Queue<TranscodeJobData>;
  /** Delivery queue the outbox relay feeds (worker role). */
  readonly webhookQueue: Queue<WebhookJobData>;
  readonly metrics: PipelineMetrics;
  /** Cancels a video's transcode wherever it runs; the video ends TRANSCODE_CANCELLED. */
  cancel(videoId: string): Promise<CancelOutcome>;
}

export const sourcesOf = (config: AppConfig, storages: Pick<Storages, 'publish'>): VideoSources =>
  config.storage.publish.driver === 's3' ? new BucketSources(storages.publish) : new LocalSources({ mastersDir: config.mastersDir });

/** Opens the shared resources, registering each one's cleanup as soon as it exists. */
export async function openShared(config: AppConfig, logger: Logger, cleanups: Cleanups): Promise<SharedResources> {
  const bin = await resolveFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
  logger.info({ ffmpeg: bin.ffmpegPath, version: bin.version }, 'ffmpeg resolved');
  const dirs = [config.uploadDir, config.workDir, config.publishDir, config.mastersDir, config.quarantineDir];
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  const sql = createDb({ url: config.databaseUrl });
  cleanups.push(() => sql.end({ timeout: 5 }));
  const { applied } = await migrate(sql);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const videos = new VideoRepository(sql);
  const storages = await openStorages(config, logger);
  cleanups.push(() => storages.close());
  const connection = redisConnection(config.redisUrl);
  const queueOpts = { connection, prefix: config.queuePrefix, attempts: config.transcodeAttempts, backoffMs: config.transcodeBackoffMs };
  const queue = createTranscodeQueue(queueOpts);
  cleanups.push(() => queue.close());
  const webhookQueue = new Queue<WebhookJobData>(QUEUE_NAMES.webhook, { connection, prefix: config.queuePrefix });
  cleanups.push(() => webhookQueue.close());
  // Without a listener a Redis outage surfaces as unhandled 'error' events on stderr instead of log lines.
  for (const q of [queue, webhookQueue] as const)
    q.on('error', (err) => logger.warn({ err: err.message, queue: q.name }, 'queue connection error'));
  const metrics = createMetrics();
  metrics.trackQueues([queue, webhookQueue]);
  return {
    config,
    logger,
    bin,
    sql,
    videos,
    records: new ArchiveRecords(sql),
    storages,
    sources: sourcesOf(config, storages),
    connection,
    queueOpts,
    queue,
    webhookQueue,
    metrics,
    cancel: (videoId) => cancelTranscode({ queue, redisUrl: config.redisUrl, prefix: config.queuePrefix, videos }, videoId),
  };
}
