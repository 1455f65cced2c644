import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { describeError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { PipelineMetrics } from '../../core/metrics.ts';
import type { WebhookEventType } from '../../core/types.ts';
import type { OutboxRow, WebhookOutbox } from '../../db/webhook-outbox.ts';

/** The JSON body every receiver gets; `id` is the outbox row's id, stable across redeliveries. */
export interface WebhookEvent {
  readonly id: string;
  readonly type: WebhookEventType;
  readonly createdAt: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** One job = one event to one receiver, so each receiver retries on its own schedule. */
export interface WebhookJobData {
  readonly url: string;
  readonly event: WebhookEvent;
}

export interface WebhookRelayOptions {
  readonly outbox: WebhookOutbox;
  /** The BullMQ webhook queue (its worker is api/webhooks/deliver.ts). */
  readonly queue: Pick<Queue<WebhookJobData>, 'addBulk'>;
  /** Receiver URLs (WEBHOOK_URLS); none → events are marked relayed with nothing to deliver. */
  readonly urls: readonly string[];
  /** Attempts per delivery (WEBHOOK_ATTEMPTS). */
  readonly attempts: number;
  /** First retry delay in ms; doubles per attempt (WEBHOOK_BACKOFF_MS). */
  readonly backoffMs: number;
  /** Events per transaction; default 100. */
  readonly batchSize?: number;
  /** How long one queue call may take before the batch is given up and retried later; default 10 000 ms. */
  readonly queueTimeoutMs?: number;
  readonly metrics?: PipelineMetrics;
}

/**
 * BullMQ job id of one event for one receiver. Derived from the event id and the URL (not its position in the list),
 * so a batch queued again after a crash between queueing and marking it relayed maps onto the same jobs, which
 * BullMQ does not add twice.
 */
export function webhookJobId(eventId: string, url: string): string {
  return `${eventId}-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
}

function toEvent(r: OutboxRow): WebhookEvent {
  return { id: r.id, type: r.event_type, createdAt: r.created_at.toISOString(), data: r.data };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`webhook queue did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Moves every pending outbox event into the delivery queue, one batch per transaction, and returns how many. A queue
 * that is down throws: that batch stays pending for the next pass.
 */
export async function relayWebhookEvents(o: WebhookRelayOptions): Promise<number> {
  const batch = o.batchSize ?? 100;
  let total = 0;
  for (;;) {
    const n = await o.outbox.relayPending(batch, async (rows) => {
      if (!o.urls.length) return;
      const jobs = rows.flatMap((r) =>
        o.urls.map((url) => ({
          name: r.event_type,
          data: { url, event: toEvent(r) },
          opts: {
            jobId: webhookJobId(r.id, url),
            attempts: o.attempts,
            backoff: { type: 'exponential', delay: o.backoffMs },
            removeOnComplete: { age: 24 * 3600 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        })),
      );
      await withTimeout(o.queue.addBulk(jobs), o.queueTimeoutMs ?? 10_000);
    });
    total += n;
    o.metrics?.webhookEventsRelayed.inc(n);
    if (n < batch) return total;
  }
}

export interface WebhookRelayTimerOptions extends WebhookRelayOptions {
  /** Pause between passes (WEBHOOK_RELAY_INTERVAL_MS); doubles while the queue or database fails, up to 30 s. */
  readonly intervalMs: number;
  /** Relayed events are deleted after this long; default 7 days. */
  readonly keepRelayedMs?: number;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface WebhookRelayTimer {
  /** Runs one pass now (tests; a pass already running is awaited instead). */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a running pass. Idempotent. */
  stop(): Promise<void>;
}

const PRUNE_EVERY_MS = 3600_000;

/** Relays outbox events every `intervalMs` in a worker process; several processes can run it side by side. */
export function startWebhookRelay(o: WebhookRelayTimerOptions): WebhookRelayTimer {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;
  let failures = 0;
  let lastPrune = 0;
  const pass = async (): Promise<number> => {
    try {
      const n = await relayWebhookEvents(o);
      if (failures > 0) o.logger.info({ failedPasses: failures }, 'webhook relay recovered');
      failures = 0;
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        const pruned = await o.outbox.pruneRelayed(o.keepRelayedMs ?? 7 * 24 * 3600_000);
        if (pruned) o.logger.info({ pruned }, 'old relayed webhook events deleted');
      }
      return n;
    } catch (err) {
      failures++;
      // One line when it starts failing, then every 10th pass: an outage must not flood the log.
      if (failures === 1 || failures % 10 === 0) {
        o.logger.warn({ err: describeError(err), failedPasses: failures }, 'webhook relay failed; events stay in the outbox');
      }
      return 0;
    }
  };
  const runOnce = (): Promise<number> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  const schedule = (): void => {
    if (stopped) return;
    const delay = Math.min(30_000, o.intervalMs * 2 ** Math.min(failures, 10));
    timer = setTimeout(() => void runOnce().then(schedule), delay);
    timer.unref();
  };
  schedule();
  let stopping: Promise<void> | undefined;
  return {
    runOnce,
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      })();
      return stopping;
    },
  };
}
