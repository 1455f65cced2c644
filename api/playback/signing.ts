import { createHmac, timingSafeEqual } from 'node:crypto';
import { PipelineError } from '../../core/errors.ts';

/**
 * Playback URL signatures. The MAC covers `videoId.expiry.scope`, so a signature is only valid for the one video's
 * package (path-scoped), only until its expiry, and a viewer signature cannot be turned into a moderator preview.
 * Wire form, in the `sig` query parameter: `<expiry unix s>.<scope>.<base64url mac>`.
 */
export type PlaybackScope = 'public' | 'preview';
const SCOPE_CODES: Readonly<Record<PlaybackScope, string>> = { public: 'p', preview: 'm' };

export interface PlaybackSignerOptions {
  /** HMAC-SHA256 key (PLAYBACK_SIGNING_KEY). */
  readonly key: string;
  /** Lifetime of new signatures in seconds (PLAYBACK_URL_TTL_SEC). */
  readonly ttlSec: number;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

export interface VerifiedSignature {
  readonly expiresAt: number;
  readonly scope: PlaybackScope;
}

export class PlaybackSigner {
  private readonly key: Buffer;
  private readonly now: () => number;

  constructor(private readonly o: PlaybackSignerOptions) {
    this.key = Buffer.from(o.key, 'utf8');
    this.now = o.now ?? Date.now;
  }

  private mac(videoId: string, exp: number, scope: string): string {
    return createHmac('sha256', this.key).update(`${videoId.toLowerCase()}.${exp}.${scope}`).digest('base64url');
  }

  /** A fresh `sig` value for the video, valid for ttlSec (or `ttlSec` given). */
  sign(videoId: string, scope: PlaybackScope, ttlSec = this.o.ttlSec): { sig: string; expiresAt: number } {
    const exp = Math.floor(this.now() / 1000) + ttlSec;
    const code = SCOPE_CODES[scope];
    return { sig: `${exp}.${code}.${this.mac(videoId, exp, code)}`, expiresAt: exp };
  }

  /** Throws PLAYBACK_SIGNATURE_MISSING / _INVALID / _EXPIRED; the MAC is checked before the expiry. */
  verify(videoId: string, sig: string | undefined): VerifiedSignature {
    if (!sig) throw new PipelineError('PLAYBACK_SIGNATURE_MISSING', 'No sig parameter.', { videoId });
    const m = /^(\d{1,12})\.([pm])\.([A-Za-z0-9_-]{43})$/.exec(sig);
    if (!m) throw new PipelineError('PLAYBACK_SIGNATURE_INVALID', 'Malformed sig parameter.', { videoId });
    const [, expStr, code, mac] = m as unknown as [string, string, string, string];
    const exp = Number(expStr);
    const want = Buffer.from(this.mac(videoId, exp, code), 'base64url');
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new PipelineError('PLAYBACK_SIGNATURE_INVALID', 'Signature does not match.', { videoId });
    }
    if (exp * 1000 <= this.now()) throw new PipelineError('PLAYBACK_SIGNATURE_EXPIRED', `Expired at ${exp}.`, { videoId, exp });
    return { expiresAt: exp, scope: code === 'p' ? 'public' : 'preview' };
  }
}

/** URL of an object in the video's package carrying the signature. */
export function signedHlsUrl(videoId: string, relPath: string, sig: string): string {
  return `/hls/${videoId}/${relPath}?sig=${encodeURIComponent(sig)}`;
}
