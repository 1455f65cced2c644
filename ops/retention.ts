import { randomBytes } from 'node:crypto';
import { Analytics } from '../api/analytics/service.ts';
import { AnalyticsSessions } from '../api/analytics/session-token.ts';
import { describeError } from '../core/errors.ts';
import { AnalyticsRepository } from '../db/analytics.ts';
import type { Sql } from '../db/client.ts';
import type { Logger } from '../core/logger.ts';
import type { Logger as PinoLogger } from 'pino';
import { ArchiveRecords } from '../db/archive-records.ts';
import { PersonalDataStore } from '../db/personal-data-store.ts';
import type { RetentionSetting } from '../db/personal-data.ts';
import { cleanStagingCopies } from '../pipeline/retention.ts';
import type { LocalDiskStorage } from '../storage/local-disk.ts';
import type { StreamClient } from '../storage/stream/client.ts';
import { refreshPendingStream } from '../pipeline/stream-offload.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { isMain, runCli, withDbAndStorages } from './cli.ts';
import type { AppConfig } from './config.ts';

export interface RetentionTimerOptions {
  readonly records: ArchiveRecords;
  readonly archive: ObjectStorage;
  readonly retentionDays: number;
  readonly everyMs: number;
  readonly logger: Logger;
  /** When set, each sweep also polls Stream for videos whose webhook never came. */
  readonly stream?: StreamClient;
  /** Local stores whose day-old `.part` files (left by killed puts) each sweep removes. */
  readonly localStores?: readonly LocalDiskStorage[];
  /** The bucket holding masters with STORAGE_DRIVER=s3 (their staging copies are deleted there). */
  readonly sourcesBucket?: ObjectStorage;
}

/**
 * Runs the staging retention sweep (and the Stream poll fallback) periodically in worker processes (first run after one interval). Several workers
 * may sweep at once: every step is idempotent (verify, rm -f, mark deleted).
 */
export function startRetentionTimer(o: RetentionTimerOptions): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    cleanStagingCopies({
      records: o.records,
      archive: o.archive,
      retentionDays: o.retentionDays,
      logger: o.logger,
      sourcesBucket: o.sourcesBucket,
    })
      .then(async (r) => {
        if (r.deleted.length || r.kept.length) o.logger.info({ deleted: r.deleted.length, kept: r.kept.length }, 'staging retention sweep');
        if (o.stream) await refreshPendingStream({ client: o.stream, records: o.records, logger: o.logger });
        for (const l of o.localStores ?? []) await l.sweepPartials(24 * 3600_000);
      })
      .catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'staging retention sweep failed'))
      .finally(() => {
        running = false;
      });
  }, o.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Raw analytics events of days older than ANALYTICS_RAW_RETENTION_DAYS: every stale day is rolled up first (so the
 * video_analytics rows are final), then the raw rows are deleted.
 */
export async function expireAnalyticsEvents(
  sql: Sql,
  config: AppConfig,
  logger: PinoLogger,
): Promise<{ rolledUp: number; deleted: number }> {
  const a = config.analytics;
  const analytics = new Analytics({
    repo: new AnalyticsRepository(sql),
    // Expiry verifies no session; the key only completes the object (a random one when none is configured).
    sessions: new AnalyticsSessions({ key: config.playback.signingKey ?? randomBytes(32).toString('hex'), ttlSec: a.sessionTtlSec }),
    viewSec: a.viewSec,
    rawRetentionDays: a.rawRetentionDays,
  });
  const r = await analytics.expireRaw();
  logger.info({ ...r, retentionDays: a.rawRetentionDays }, 'raw analytics events expired');
  return r;
}

export interface RowRetentionTimerOptions {
  readonly store: Pick<PersonalDataStore, 'sweepRetention'>;
  /** Days per retention setting (RETENTION_*_DAYS; 0 = kept). */
  readonly days: Readonly<Partial<Record<RetentionSetting, number>>>;
  readonly everyMs: number;
  readonly logger: Logger;
  /** Runs first on every tick: raw analytics events are rolled up before they are deleted (expireAnalyticsEvents). */
  readonly before?: () => Promise<unknown>;
}

/**
 * Deletes rows past their retention (the tables db/personal-data.ts gives a retention: webhook delivery log, relayed
 * outbox events, raw analytics events) periodically in worker processes. A plain DELETE by age: idempotent, and
 * several workers running it at once delete each row once.
 */
export function startRowRetentionTimer(o: RowRetentionTimerOptions): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    Promise.resolve(o.before?.())
      // A failed roll-up leaves the raw rows for the next tick; the other tables are swept regardless.
      .catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'analytics expiry failed'))
      .then(() => o.store.sweepRetention(o.days))
      .then((deleted) => {
        if (Object.values(deleted).some((n) => n > 0)) o.logger.info({ deleted }, 'row retention sweep');
      })
      .catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'row retention sweep failed'))
      .finally(() => {
        running = false;
      });
  }, o.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** One sweep from the command line (`npm run retention`), for cron setups with STAGING_SWEEP_HOURS=0. */
export async function runRetentionOnce(
  config: AppConfig,
  logger: PinoLogger,
): Promise<{ deleted: number; kept: number; rows: Record<string, number> }> {
  return withDbAndStorages(config, logger, async (sql, storages) => {
    await expireAnalyticsEvents(sql, config, logger);
    const rows = await new PersonalDataStore(sql).sweepRetention(config.privacy.retentionDays);
    if (!storages.archive) return { deleted: 0, kept: 0, rows };
    const records = new ArchiveRecords(sql);
    const r = await cleanStagingCopies({
      records,
      archive: storages.archive,
      retentionDays: config.storage.stagingRetentionDays,
      logger,
      sourcesBucket: config.storage.publish.driver === 's3' ? storages.publish : undefined,
    });
    if (storages.stream) await refreshPendingStream({ client: storages.stream, records, logger });
    return { deleted: r.deleted.length, kept: r.kept.length, rows };
  });
}

if (isMain(import.meta.url)) {
  const usage = `usage: npm run retention
  One sweep of rows past their retention (RETENTION_WEBHOOK_LOG_DAYS, RETENTION_ANALYTICS_EVENTS_DAYS), the archive's staging copies older than STAGING_RETENTION_DAYS (verified, then deleted), day-old
  .part files of killed writes, and a poll of Cloudflare Stream for videos whose webhook never came. Idempotent; the
  worker processes run the same sweep on a timer. Also rolls up and deletes raw analytics events older than
  ANALYTICS_RAW_RETENTION_DAYS (run it daily from cron for that). Configuration from the environment (README "Configuration").`;
  runCli('retention', usage, runRetentionOnce, (r, logger) => logger.info(r, 'staging retention sweep done'));
}
