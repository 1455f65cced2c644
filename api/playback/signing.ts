import { createHmac, timingSafeEqual } from 'node:crypto';
import { PipelineError } from '../../core/errors.ts';

/**
 * Playback URL signatures, bound to one video, an expiry, the video's access epoch and the caller they were issued to.
 * The MAC covers `videoId.expiry.audience.epoch.principal`, so a signature works for that video's package only,
 * until it expires, only while the video's access epoch is unchanged (migration 0008 bumps it on every revocation),
 * and only with the rights of the audience it names: a viewer signature cannot be turned into a preview, nor an
 * owner's preview into a moderator's.
 * Wire form, in the `sig` query parameter: `<expiry unix s>.<audience>.<epoch>.<principal tag | ->.<base64url mac>`.
 */
export type PlaybackAudience = 'public' | 'owner' | 'moderator';
/** What the player-facing API reports: `preview` covers both owner and moderator previews. */
export type PlaybackScope = 'public' | 'preview';

/** Who a URL is issued to. Previews name their principal so every request can re-check that principal's right. */
export type PlaybackGrant = { readonly audience: 'public' } | { readonly audience: 'owner' | 'moderator'; readonly principalId: string };

const CODES: Readonly<Record<PlaybackAudience, string>> = { public: 'p', owner: 'o', moderator: 'm' };
const AUDIENCES: Readonly<Record<string, PlaybackAudience>> = { p: 'public', o: 'owner', m: 'moderator' };
const SIG_RE = /^(\d{1,12})\.([pom])\.(\d{1,10})\.([A-Za-z0-9_-]{16}|-)\.([A-Za-z0-9_-]{43})$/;

export interface PlaybackSignerOptions {
  /** HMAC-SHA256 key (PLAYBACK_SIGNING_KEY). */
  readonly key: string;
  /** Lifetime of public (approved video) signatures in seconds (PLAYBACK_URL_TTL_SEC). */
  readonly ttlSec: number;
  /** Lifetime of owner and moderator previews in seconds (PLAYBACK_PREVIEW_TTL_SEC); default 600. */
  readonly previewTtlSec?: number;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

export interface VerifiedSignature {
  readonly expiresAt: number;
  readonly audience: PlaybackAudience;
  /** The video's access epoch when the URL was issued. */
  readonly epoch: number;
  /** Keyed tag of the principal a preview was issued to (see principalTag); undefined for public signatures. */
  readonly principalTag: string | undefined;
}

export class PlaybackSigner {
  private readonly key: Buffer;
  private readonly tagKey: Buffer;
  private readonly now: () => number;
  private readonly previewTtlSec: number;

  constructor(private readonly o: PlaybackSignerOptions) {
    this.key = Buffer.from(o.key, 'utf8');
    // A separate key for principal tags, so a tag can never double as a URL MAC (domain separation).
    this.tagKey = createHmac('sha256', this.key).update('kidstream playback principal tag').digest();
    this.now = o.now ?? Date.now;
    this.previewTtlSec = o.previewTtlSec ?? 600;
  }

  /**
   * A short keyed pseudonym of a user id. URLs get shared (that is what a preview link leaks through), so they carry
   * this rather than the id itself; the server recomputes it from the video's owner to re-check the owner's right.
   */
  principalTag(principalId: string): string {
    return createHmac('sha256', this.tagKey).update(principalId, 'utf8').digest().subarray(0, 12).toString('base64url');
  }

  private mac(videoId: string, exp: number, code: string, epoch: number, who: string): string {
    return createHmac('sha256', this.key).update(`${videoId.toLowerCase()}.${exp}.${code}.${epoch}.${who}`).digest('base64url');
  }

  /** A fresh `sig` value for the video; public URLs live ttlSec, previews previewTtlSec (or `ttlSec` given). */
  sign(videoId: string, grant: PlaybackGrant, epoch: number, ttlSec?: number): { sig: string; expiresAt: number } {
    const life = ttlSec ?? (grant.audience === 'public' ? this.o.ttlSec : this.previewTtlSec);
    const exp = Math.floor(this.now() / 1000) + life;
    const code = CODES[grant.audience];
    const who = grant.audience === 'public' ? '-' : this.principalTag(grant.principalId);
    return { sig: `${exp}.${code}.${epoch}.${who}.${this.mac(videoId, exp, code, epoch, who)}`, expiresAt: exp };
  }

  /** Throws PLAYBACK_SIGNATURE_MISSING / _INVALID / _EXPIRED; the MAC is checked before the expiry. */
  verify(videoId: string, sig: string | undefined): VerifiedSignature {
    if (!sig) throw new PipelineError('PLAYBACK_SIGNATURE_MISSING', 'No sig parameter.', { videoId });
    const m = SIG_RE.exec(sig);
    if (!m) throw new PipelineError('PLAYBACK_SIGNATURE_INVALID', 'Malformed sig parameter.', { videoId });
    const [, expStr, code, epochStr, who, mac] = m as unknown as [string, string, string, string, string, string];
    const exp = Number(expStr);
    const epoch = Number(epochStr);
    const want = Buffer.from(this.mac(videoId, exp, code, epoch, who), 'base64url');
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new PipelineError('PLAYBACK_SIGNATURE_INVALID', 'Signature does not match.', { videoId });
    }
    if (exp * 1000 <= this.now()) throw new PipelineError('PLAYBACK_SIGNATURE_EXPIRED', `Expired at ${exp}.`, { videoId, exp });
    const audience = AUDIENCES[code]!;
    return { expiresAt: exp, audience, epoch, principalTag: who === '-' ? undefined : who };
  }

  /** Seconds until a verified signature expires (never negative). */
  secondsLeft(s: VerifiedSignature): number {
    return Math.max(0, s.expiresAt - Math.floor(this.now() / 1000));
  }
}

/** URL of an object in the video's package carrying the signature. */
export function signedHlsUrl(videoId: string, relPath: string, sig: string): string {
  return `/hls/${videoId}/${relPath}?sig=${encodeURIComponent(sig)}`;
}
