import { createHmac, timingSafeEqual } from 'node:crypto';
import { PipelineError } from '../../core/errors.ts';
import { parseStreamVideo, type StreamVideo } from './video.ts';

export interface VerifyWebhookOptions {
  /** The `Webhook-Signature` header: `time=<unix seconds>,sig1=<hex>`. */
  readonly header: string | undefined;
  /** The raw request body exactly as received (re-serialised JSON would not match). */
  readonly rawBody: string;
  /** The secret returned by PUT /accounts/{id}/stream/webhook. */
  readonly secret: string;
  readonly now: () => Date;
  /** Maximum |now − time| in seconds before a delivery counts as a replay; default 300. */
  readonly toleranceSec?: number;
}

/** `time.body` signed with HMAC-SHA256, hex — the documented Stream webhook signature source string. */
export function signWebhook(secret: string, time: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${time}.${rawBody}`).digest('hex');
}

function invalid(detail: string): PipelineError {
  return new PipelineError('STREAM_WEBHOOK_INVALID', detail);
}

/** Checks signature and freshness, then parses the video; throws STREAM_WEBHOOK_INVALID / STREAM_WEBHOOK_STALE. */
export function verifyStreamWebhook(o: VerifyWebhookOptions): StreamVideo {
  const parts = new Map((o.header ?? '').split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
  }));
  const timeStr = parts.get('time') ?? '';
  const sig = parts.get('sig1') ?? '';
  if (!/^\d{1,12}$/.test(timeStr) || !/^[0-9a-f]{64}$/i.test(sig)) throw invalid('Missing or malformed Webhook-Signature header.');
  const time = Number(timeStr);
  const skew = Math.abs(o.now().getTime() / 1000 - time);
  // Signature first: an unauthenticated sender learns nothing about our clock.
  const want = Buffer.from(signWebhook(o.secret, time, o.rawBody), 'hex');
  if (!timingSafeEqual(want, Buffer.from(sig, 'hex'))) throw invalid('Webhook signature does not match.');
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
