import type { Job } from 'bullmq';
import { describeError, PipelineError } from '../../core/errors.ts';
import type { PipelineMetrics } from '../../core/metrics.ts';
import type { Sql } from '../../db/client.ts';
import { redactUrl } from '../log-redaction.ts';
import type { WebhookJobData } from './relay.ts';
import { SIGNATURE_HEADER, signWebhook } from './signature.ts';

export interface WebhookDeliveryOptions {
  readonly sql: Sql;
  /** HMAC key (WEBHOOK_SECRET). */
  readonly secret: string;
  /** Per-request timeout in ms (WEBHOOK_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly metrics?: PipelineMetrics;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

export interface DeliveryRow {
  event_id: string;
  event_type: string;
  url: string;
  attempt: number;
  status_code: number | null;
  ok: boolean;
  error: string | null;
  duration_ms: number;
}

/**
 * BullMQ processor: POSTs one signed event to one receiver and logs the attempt in webhook_deliveries. A non-2xx
 * answer or a network error throws, so BullMQ retries with exponential backoff until the attempts run out.
 */
export function createWebhookProcessor(o: WebhookDeliveryOptions): (job: Job<WebhookJobData>) => Promise<void> {
  const now = o.now ?? Date.now;
  return async (job) => {
    const { url, event } = job.data;
    const body = JSON.stringify(event);
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'kidstream-webhooks/1',
          'x-kidstream-event': event.type,
          'x-kidstream-delivery': event.id,
          [SIGNATURE_HEADER]: signWebhook(o.secret, Math.floor(now() / 1000), body),
        },
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined); // drain so the connection can be reused
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (err) {
      error = describeError(err).slice(0, 500);
    }
    const row: DeliveryRow = {
      event_id: event.id,
      event_type: event.type,
      url,
      attempt: job.attemptsMade + 1,
      status_code: status,
      ok: error === null,
      error,
      duration_ms: Math.round(performance.now() - started),
    };
    await o.sql`INSERT INTO webhook_deliveries ${o.sql(row)}`;
    o.metrics?.webhookDeliveries.inc({ event: event.type, outcome: row.ok ? 'ok' : 'failed' });
    // The message ends up in worker logs and BullMQ's failedReason: a receiver URL may carry a token in its query.
    if (error !== null) throw new PipelineError('WEBHOOK_DELIVERY_FAILED', `${redactUrl(url)}: ${error}.`, { url: redactUrl(url), status });
  };
}
