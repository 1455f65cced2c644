import { timestampedHmac, timestampedHmacMatches } from '../../core/timestamped-hmac.ts';

/**
 * Outgoing webhook signatures: HMAC-SHA256 over `${timestamp}.${body}`, sent as
 * `X-Kidstream-Signature: t=<unix seconds>,v1=<hex>` (the Stripe scheme: binding the timestamp into the MAC lets
 * receivers reject replays older than their tolerance).
 */
export const SIGNATURE_HEADER = 'x-kidstream-signature';

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${timestampedHmac(secret, timestamp, body)}`;
}

export interface VerifyWebhookOptions {
  readonly secret: string;
  /** The raw header value. */
  readonly header: string | undefined;
  /** The raw request body, exactly as received. */
  readonly body: string;
  /** Largest accepted age of the timestamp in seconds; default 300. */
  readonly toleranceSec?: number;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

/** For receivers (and our tests): true when the header's MAC matches and its timestamp is fresh. */
export function verifyWebhook(o: VerifyWebhookOptions): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(o.header ?? '');
  if (!m) return false;
  const ts = Number(m[1]);
  const now = Math.floor((o.now ?? Date.now)() / 1000);
  if (Math.abs(now - ts) > (o.toleranceSec ?? 300)) return false;
  return timestampedHmacMatches(o.secret, ts, o.body, m[2]!);
}
