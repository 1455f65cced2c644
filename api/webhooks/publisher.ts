import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { EventPublisher, WebhookEventType } from '../../core/types.ts';

/** The JSON body every receiver gets. */
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

export interface WebhookPublisherOptions {
  readonly queue: Queue<WebhookJobData>;
  /** Receiver URLs (WEBHOOK_URLS); none → publish() does nothing. */
  readonly urls: readonly string[];
  /** Attempts per delivery (WEBHOOK_ATTEMPTS). */
  readonly attempts: number;
  /** First retry delay in ms; doubles per attempt (WEBHOOK_BACKOFF_MS). */
  readonly backoffMs: number;
  /** Clock in ms since the epoch (tests); default Date.now. */
  readonly now?: () => number;
}

export function createWebhookPublisher(o: WebhookPublisherOptions): EventPublisher {
  return {
    async publish(type, data) {
      if (o.urls.length === 0) return;
      const event: WebhookEvent = { id: randomUUID(), type, createdAt: new Date((o.now ?? Date.now)()).toISOString(), data };
      await o.queue.addBulk(
        o.urls.map((url, i) => ({
          name: type,
          data: { url, event },
          opts: {
            jobId: `${event.id}-${i}`,
            attempts: o.attempts,
            backoff: { type: 'exponential', delay: o.backoffMs },
            removeOnComplete: { age: 24 * 3600 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        })),
      );
    },
  };
}
