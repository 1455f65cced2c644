import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PipelineError } from '../../core/errors.ts';

/**
 * Analytics session tokens. Every public playback answer (GET /api/playback/:id and the video details that embed one)
 * carries a fresh token bound to that video, so only a viewer the API actually issued playback to can report on it:
 * a beacon for another video, or one made up without an issued token, fails the MAC.
 * Wire form: `<issued unix s>.<nonce, 16 bytes base64url>.<mac, 16 bytes base64url>`, the MAC covering
 * `videoId.issued.nonce` under a key derived from the playback signing key (domain-separated, so a token can never
 * double as a URL signature or a principal tag).
 */
const TOKEN_RE = /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/;

export interface AnalyticsSessionsOptions {
  /** The playback signing key (PLAYBACK_SIGNING_KEY); the token and salt keys are derived from it. */
  readonly key: string;
  /** How long a token is accepted after it was issued, in seconds (ANALYTICS_SESSION_TTL_SEC). */
  readonly ttlSec: number;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

/** A verified session: the UTC day it belongs to and its stored pseudonym. */
export interface VerifiedSession {
  /** UTC day (YYYY-MM-DD) the token was issued: all of a session's events count on that day, even past midnight. */
  readonly day: string;
  /** 16 bytes: HMAC of the nonce under that day's salt. The token itself is never stored. */
  readonly hash: Buffer;
  /** The hash as hex, for in-memory keys (rate limits). */
  readonly id: string;
}

export class AnalyticsSessions {
  private readonly macKey: Buffer;
  private readonly saltKey: Buffer;
  private readonly now: () => number;

  constructor(private readonly o: AnalyticsSessionsOptions) {
    const root = Buffer.from(o.key, 'utf8');
    this.macKey = createHmac('sha256', root).update('kidstream analytics session token').digest();
    this.saltKey = createHmac('sha256', root).update('kidstream analytics daily salt').digest();
    this.now = o.now ?? Date.now;
  }

  private mac(videoId: string, issued: number, nonce: string): Buffer {
    return createHmac('sha256', this.macKey).update(`${videoId.toLowerCase()}.${issued}.${nonce}`).digest().subarray(0, 16);
  }

  /** A fresh token for one playback of `videoId`. */
  issue(videoId: string): string {
    const issued = Math.floor(this.now() / 1000);
    const nonce = randomBytes(16).toString('base64url');
    return `${issued}.${nonce}.${this.mac(videoId, issued, nonce).toString('base64url')}`;
  }

  /** Throws ANALYTICS_SESSION_INVALID / _EXPIRED; the MAC is checked before the time. */
  verify(videoId: string, token: string): VerifiedSession {
    const m = TOKEN_RE.exec(token);
    if (!m) throw new PipelineError('ANALYTICS_SESSION_INVALID', 'Malformed analytics session.', { videoId });
    const [, issuedStr, nonce, mac] = m as unknown as [string, string, string, string];
    const issued = Number(issuedStr);
    const got = Buffer.from(mac, 'base64url');
    const want = this.mac(videoId, issued, nonce);
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new PipelineError('ANALYTICS_SESSION_INVALID', 'Analytics session does not match this video.', { videoId });
    }
    const nowSec = this.now() / 1000;
    if (issued + this.o.ttlSec <= nowSec) {
      throw new PipelineError('ANALYTICS_SESSION_EXPIRED', `Session issued at ${issued} expired.`, { videoId, issued });
    }
    const day = new Date(issued * 1000).toISOString().slice(0, 10);
    // The salt changes every day, so stored hashes of two days cannot be joined, and none can be tied back to a
    // token seen elsewhere without the server key.
    const salt = createHmac('sha256', this.saltKey).update(day).digest();
    const hash = createHmac('sha256', salt).update(nonce).digest().subarray(0, 16);
    return { day, hash, id: hash.toString('hex') };
  }
}
