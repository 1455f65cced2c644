import { PipelineError } from '../../core/errors.ts';
import { timestampedHmacMatches } from '../../core/timestamped-hmac.ts';
import { parseStreamVideo, type StreamVideo } from './video.ts';

export interface VerifyStreamWebhookOptions {
  /** The `Webhook-Signature` header: `time=<unix seconds>,sig1=<hex>`. */
  readonly header: string | undefined;
  /** The raw request body exactly as received (re-serialised JSON would not match). */
  readonly rawBody: string;
  /** The secret returned by PUT /accounts/{id}/stream/webhook. */
  readonly secret: string;
  /** Clock in ms since the epoch; default Date.now. */
  readonly now?: () => number;
  /** Maximum |now − time| in seconds before a delivery counts as a replay; default 300. */
  readonly toleranceSec?: number;
}

function invalid(detail: string): PipelineError {
  return new PipelineError('STREAM_WEBHOOK_INVALID', detail);
}

/** Checks signature and freshness, then parses the video; throws STREAM_WEBHOOK_INVALID / STREAM_WEBHOOK_STALE. */
export function verifyStreamWebhook(o: VerifyStreamWebhookOptions): StreamVideo {
  const parts = new Map(
    (o.header ?? '').split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
    }),
  );
  const timeStr = parts.get('time') ?? '';
  const sig = parts.get('sig1') ?? '';
  if (!/^\d{1,12}$/.test(timeStr) || !/^[0-9a-f]{64}$/i.test(sig)) throw invalid('Missing or malformed Webhook-Signature header.');
  const time = Number(timeStr);
  const skew = Math.abs((o.now ?? Date.now)() / 1000 - time);
  // Signature first: an unauthenticated sender learns nothing about our clock. Stream documents its signature as the
  // hex HMAC-SHA256 of `time.body`.
  if (!timestampedHmacMatches(o.secret, time, o.rawBody, sig)) throw invalid('Webhook signature does not match.');
  if (skew > (o.toleranceSec ?? 300)) {
    throw new PipelineError('STREAM_WEBHOOK_STALE', `Webhook time ${time} is ${Math.round(skew)} s away from now.`, { time });
  }
  let body: unknown;
  try {
    body = JSON.parse(o.rawBody);
  } catch {
    throw invalid('Webhook body is not JSON.');
  }
  const video = parseStreamVideo(body);
  if (!video) throw invalid('Webhook body is not a Stream video object.');
  return video;
}
