import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 (hex) of `<unix seconds>.<body>`. Our outgoing webhooks (the Stripe scheme) and Cloudflare Stream's
 * incoming ones both sign this string: binding the timestamp into the MAC lets a receiver refuse replays older than its
 * tolerance without trusting an unsigned header.
 */
export function timestampedHmac(secret: string, timestampSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
}

/** Whether `macHex` is timestampedHmac(secret, timestampSec, body), compared in constant time. */
export function timestampedHmacMatches(secret: string, timestampSec: number, body: string, macHex: string): boolean {
  const want = Buffer.from(timestampedHmac(secret, timestampSec, body), 'hex');
  const got = Buffer.from(macHex, 'hex');
  return got.length === want.length && timingSafeEqual(want, got);
}
