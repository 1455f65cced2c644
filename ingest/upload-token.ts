import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';

/** Header that carries the token on tus requests (separate from Authorization, which the API's user auth owns). */
export const UPLOAD_TOKEN_HEADER = 'Upload-Token';

/** What a token grants: creating uploads until `exp`, attributed to `sub` when the issuer knew the uploader. */
export interface UploadTokenClaims {
  /** Format version, so the format can change without accepting old tokens by accident. */
  readonly v: 1;
  /** Unique token id (for logs and later revocation lists). */
  readonly jti: string;
  /** Issued-at, seconds since epoch. */
  readonly iat: number;
  /** Expiry, seconds since epoch. */
  readonly exp: number;
  /** Uploader id, when the issuing request was authenticated. */
  readonly sub?: string;
}

const ClaimsSchema = z.object({
  v: z.literal(1),
  jti: z.string().min(8).max(64),
  iat: z.number().int(),
  exp: z.number().int(),
  sub: z.string().min(1).max(200).optional(),
});

export interface UploadTokenOptions {
  /** HMAC-SHA256 key (≥ 32 chars), from config UPLOAD_TOKEN_SECRET. */
  readonly secret: string;
  /** Lifetime of issued tokens in seconds; default 900. */
  readonly ttlSec?: number;
  /** Clock in ms since epoch; default Date.now (tests inject a fixed clock). */
  readonly now?: () => number;
}

export interface IssuedUploadToken {
  readonly token: string;
  readonly expiresAt: Date;
  readonly claims: UploadTokenClaims;
}

/**
 * Short-lived, stateless upload tokens: `base64url(json claims).base64url(hmac-sha256)`. Any API process with the
 * same secret can verify them, so creation needs no shared session store.
 */
export class UploadTokens {
  readonly #secret: Buffer;
  readonly #ttlSec: number;
  readonly #now: () => number;

  constructor(o: UploadTokenOptions) {
    if (o.secret.length < 32) throw new PipelineError('OPS_CONFIG_INVALID', 'UPLOAD_TOKEN_SECRET must be at least 32 characters.');
    this.#secret = Buffer.from(o.secret, 'utf8');
    this.#ttlSec = o.ttlSec ?? 900;
    this.#now = o.now ?? Date.now;
  }

  issue(opts: { uploaderId?: string } = {}): IssuedUploadToken {
    const iat = Math.floor(this.#now() / 1000);
    const claims: UploadTokenClaims = {
      v: 1,
      jti: randomBytes(12).toString('base64url'),
      iat,
      exp: iat + this.#ttlSec,
      ...(opts.uploaderId ? { sub: opts.uploaderId } : {}),
    };
    const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    return { token: `${body}.${this.#sign(body)}`, expiresAt: new Date(claims.exp * 1000), claims };
  }

  /** Returns the claims or throws INGEST_TOKEN_MISSING / INGEST_TOKEN_INVALID / INGEST_TOKEN_EXPIRED. */
  verify(token: string | null | undefined): UploadTokenClaims {
    if (!token) throw new PipelineError('INGEST_TOKEN_MISSING', `No ${UPLOAD_TOKEN_HEADER} header.`);
    const [body, sig, extra] = token.split('.');
    if (!body || !sig || extra !== undefined) throw new PipelineError('INGEST_TOKEN_INVALID', 'Token is not two dot-separated parts.');
    const expected = Buffer.from(this.#sign(body), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    // Constant-time compare so the signature cannot be guessed byte by byte from response timing.
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new PipelineError('INGEST_TOKEN_INVALID', 'Token signature does not match.');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch (err) {
      throw new PipelineError('INGEST_TOKEN_INVALID', 'Token claims are not JSON.', {}, { cause: err });
    }
    const claims = ClaimsSchema.safeParse(parsed);
    if (!claims.success) throw new PipelineError('INGEST_TOKEN_INVALID', 'Token claims have the wrong shape.');
    if (claims.data.exp * 1000 <= this.#now()) {
      throw new PipelineError('INGEST_TOKEN_EXPIRED', `Token expired at ${new Date(claims.data.exp * 1000).toISOString()}.`);
    }
    return claims.data;
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}
