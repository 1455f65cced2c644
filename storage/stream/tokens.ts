import { createPrivateKey, createSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { PipelineError } from '../../core/errors.ts';

/** Stream rejects tokens that live longer than this; we never sign longer ones. */
export const MAX_TOKEN_TTL_SEC = 24 * 3600;

export interface SigningKey {
  /** Key id from POST /stream/keys; goes into the JWT header and the `kid` claim. */
  readonly id: string;
  readonly key: KeyObject;
}

function bad(detail: string, cause?: unknown): PipelineError {
  return new PipelineError('STREAM_BAD_SIGNING_KEY', detail, {}, { cause });
}

/**
 * Loads the stored signing key. POST /stream/keys returns `pem` and `jwk` base64-encoded; accept those, a plain PEM,
 * or a JSON JWK, so operators can paste whichever they saved.
 */
export function loadSigningKey(id: string, material: string): SigningKey {
  if (!id) throw bad('Signing key id is empty.');
  const text = material.trim();
  const decoded = text.startsWith('-----') || text.startsWith('{') ? text : Buffer.from(text, 'base64').toString('utf8').trim();
  try {
    const key = decoded.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(decoded) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(decoded);
    if (key.asymmetricKeyType !== 'rsa') throw bad('Signing key is not an RSA key.');
    return { id, key };
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    throw bad('Signing key is neither PEM nor JWK.', err);
  }
}

const b64url = (x: Buffer | string): string => Buffer.from(x).toString('base64url');

export interface PlaybackTokenOptions {
  readonly signingKey: SigningKey;
  /** Stream video uid (the `sub` claim). */
  readonly uid: string;
  /** Lifetime; default 3600, capped at 24 h. */
  readonly ttlSec?: number;
  readonly now: () => Date;
}

/** A self-signed RS256 playback token: header {alg, kid}, claims {sub, kid, exp} (Stream "signed URLs"). */
export function signPlaybackToken(o: PlaybackTokenOptions): string {
  const ttl = Math.min(MAX_TOKEN_TTL_SEC, Math.max(1, Math.floor(o.ttlSec ?? 3600)));
  const exp = Math.floor(o.now().getTime() / 1000) + ttl;
  const header = b64url(JSON.stringify({ alg: 'RS256', kid: o.signingKey.id }));
  const claims = b64url(JSON.stringify({ sub: o.uid, kid: o.signingKey.id, exp }));
  const sig = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(o.signingKey.key);
  return `${header}.${claims}.${b64url(sig)}`;
}

/** Signed videos are addressed by token instead of uid in the delivery URL (`…/<token>/manifest/video.m3u8`). */
export function signedPlaybackUrl(url: string, uid: string, token: string): string {
  return url.replace(`/${uid}/`, `/${token}/`);
}
