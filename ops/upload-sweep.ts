import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { sweepUploads, type UploadSweepOptions } from '../ingest/upload-sweep.ts';

/**
 * Runs the upload sweep periodically in API processes (they own the upload directory): once at start, so uploads
 * stranded by a crash are finished right away, then every `everyMs`. A run still going when the next is due is not
 * doubled.
 */
export function startUploadSweepTimer(o: UploadSweepOptions & { readonly everyMs: number; readonly logger: Logger }): {
  stop(): Promise<void>;
} {
  let current: Promise<void> | undefined;
  const run = (): void => {
    current ??= sweepUploads(o)
      .then((r) => {
        const changed = r.finished.length + r.removed.length + r.leftovers.length;
        if (changed)
          o.logger.info({ finished: r.finished.length, removed: r.removed.length, leftovers: r.leftovers.length }, 'upload sweep');
      })
      .catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'upload sweep failed'))
      .finally(() => {
        current = undefined;
      });
  };
  run();
  const timer = setInterval(run, o.everyMs);
  timer.unref();
  return {
    // Waits for a run in progress, so the database pool it uses is not closed under it.
    stop: async () => {
      clearInterval(timer);
      await current;
    },
  };
}
