import { describeError } from '../core/errors.ts';
import type { ArchiveRecords } from '../db/archive-records.ts';
import { cleanStagingCopies } from '../storage/archive/retention.ts';
import type { StreamClient } from '../storage/stream/client.ts';
import { refreshPendingStream } from '../storage/stream/offload.ts';
import type { ObjectStorage } from '../storage/types.ts';
import type { Logger } from '../transcoder/run-ffmpeg.ts';

export interface RetentionTimerOptions {
  readonly records: ArchiveRecords;
  readonly archive: ObjectStorage;
  readonly retentionDays: number;
  readonly everyMs: number;
  readonly logger: Logger;
  /** When set, each sweep also polls Stream for videos whose webhook never came. */
  readonly stream?: StreamClient;
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
    const now = (): Date => new Date();
    cleanStagingCopies({ records: o.records, archive: o.archive, retentionDays: o.retentionDays, now, logger: o.logger })
      .then(async (r) => {
        if (r.deleted.length || r.kept.length) o.logger.info({ deleted: r.deleted.length, kept: r.kept.length }, 'staging retention sweep');
        if (o.stream) await refreshPendingStream({ client: o.stream, records: o.records, logger: o.logger, now });
      })
      .catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'staging retention sweep failed'))
      .finally(() => {
        running = false;
      });
  }, o.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
