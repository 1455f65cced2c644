import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { PipelineError } from '../core/errors.ts';
import { ROLES, type Role } from '../core/types.ts';

/** The caller as the access token describes it. */
export interface Principal {
  /** Token subject: the user id, stored as videos.uploader_id for uploads. */
  readonly id: string;
  readonly role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook when a valid bearer token came with the request. */
    principal: Principal | undefined;
  }
}

export interface TokenVerifierOptions {
  /** HS256 shared secret (>= 32 chars). One of secret / publicKeyPem. */
  readonly secret?: string;
  /** SPKI PEM public key; tokens are RS256 or ES256 (from an identity provider). */
  readonly publicKeyPem?: string;
  /** Required `iss` claim; default: not checked. */
  readonly issuer?: string;
  /** Required `aud` claim; default: not checked. */
  readonly audience?: string;
  /**
   * Longest accepted token lifetime in seconds: exp − iat, and exp − now (so an iat in the future cannot stretch it);
   * default 86400. Bounds the damage of a leaked token, which would otherwise stay valid for as long as its issuer chose.
   */
  readonly maxLifetimeSec?: number;
  /** Clock for expiry checks (tests); default Date.now. */
  readonly now?: () => number;
}

export interface TokenVerifier {
  /** Throws AUTH_INVALID_TOKEN (or AUTH_NOT_CONFIGURED) unless the token is valid and carries a known role. */
  verify(token: string): Promise<Principal>;
}

/** "user" is the platform design's name for an uploading parent. */
function roleOf(p: JWTPayload): Role | undefined {
  const raw = typeof p['role'] === 'string' ? [p['role']] : Array.isArray(p['roles']) ? p['roles'] : [];
  const known = raw.map((r) => (r === 'user' ? 'uploader' : r)).filter((r): r is Role => ROLES.includes(r as Role));
  // Several roles: the strongest wins (ROLES is ordered weakest → strongest).
  return known.sort((a, b) => ROLES.indexOf(b) - ROLES.indexOf(a))[0];
}

/** Refuses a token whose lifetime (exp − iat, or exp − now) exceeds maxSec; jwtVerify already required a numeric exp. */
function assertBoundedLifetime(p: JWTPayload, nowMs: number, maxSec: number): void {
  const exp = p.exp ?? 0;
  const nowSec = Math.floor(nowMs / 1000);
  const lifetime = Math.max(exp - nowSec, p.iat === undefined ? 0 : exp - p.iat);
  if (lifetime > maxSec) {
    throw new PipelineError('AUTH_INVALID_TOKEN', `Token lives ${lifetime} s, longer than the ${maxSec} s allowed.`, {
      reason: 'lifetime',
      lifetimeSec: lifetime,
      maxLifetimeSec: maxSec,
    });
  }
}

export function createTokenVerifier(o: TokenVerifierOptions): TokenVerifier {
  let key: KeyObject | undefined;
  let algorithms: string[] = [];
  if (o.secret) {
    key = createSecretKey(Buffer.from(o.secret, 'utf8'));
    algorithms = ['HS256'];
  } else if (o.publicKeyPem) {
    key = createPublicKey(o.publicKeyPem);
    // Pin the algorithm to the key type so an HS256 token can never be checked against a public key.
    algorithms = key.asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'];
  }
  return {
    async verify(token) {
      if (!key) throw new PipelineError('AUTH_NOT_CONFIGURED', 'No token key configured.');
      let payload: JWTPayload;
      const nowMs = o.now ? o.now() : Date.now();
      try {
        ({ payload } = await jwtVerify(token, key, {
          // Without exp a token never expires: one leaked link with ?access_token= would grant access for good.
          algorithms,
          issuer: o.issuer,
          audience: o.audience,
          requiredClaims: ['exp'],
          currentDate: new Date(nowMs),
        }));
      } catch (err) {
        const reason = err instanceof joseErrors.JOSEError ? err.code : 'ERR_UNKNOWN';
        const claim = err instanceof joseErrors.JWTClaimValidationFailed ? err.claim : undefined;
        throw new PipelineError(
          'AUTH_INVALID_TOKEN',
          `Token rejected (${reason}${claim ? ` ${claim}` : ''}).`,
          { reason, claim },
          { cause: err },
        );
      }
      assertBoundedLifetime(payload, nowMs, o.maxLifetimeSec ?? 86_400);
      const role = roleOf(payload);
      if (!payload.sub || !role) throw new PipelineError('AUTH_INVALID_TOKEN', 'Token lacks sub or a known role.', { reason: 'claims' });
      return { id: payload.sub, role };
    },
  };
}

export interface IssueTokenOptions {
  readonly secret: string;
  readonly sub: string;
  readonly role: Role | 'user';
  /** Lifetime in seconds; default 900 (access tokens are short-lived). */
  readonly ttlSec?: number;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Signs an HS256 access token (dev tooling, tests and first-party token endpoints). */
export function issueAccessToken(o: IssueTokenOptions): Promise<string> {
  let jwt = new SignJWT({ role: o.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(o.sub)
    .setIssuedAt()
    .setExpirationTime(`${o.ttlSec ?? 900}s`);
  if (o.issuer) jwt = jwt.setIssuer(o.issuer);
  if (o.audience) jwt = jwt.setAudience(o.audience);
  return jwt.sign(createSecretKey(Buffer.from(o.secret, 'utf8')));
}

/** Bearer header, or `?access_token=` for pages opened from a link (the player page); header wins. */
function tokenFrom(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h) return /^Bearer\s+(\S+)$/i.exec(h)?.[1] ?? '';
  const q = req.query as Record<string, unknown> | undefined;
  return typeof q?.['access_token'] === 'string' ? q['access_token'] : undefined;
}

/** preHandler that sets req.principal from a token when one is sent; an invalid token is an error, none is not. */
export function authenticate(verifier: TokenVerifier): preHandlerAsyncHookHandler {
  return async (req: FastifyRequest) => {
    const token = tokenFrom(req);
    if (token === undefined) return;
    if (token === '') throw new PipelineError('AUTH_INVALID_TOKEN', 'Malformed Authorization header.', { reason: 'header' });
    req.principal = await verifier.verify(token);
  };
}

/** 401 without a principal; 403 unless its role is listed. Admins pass every check (they run the platform). */
export function requireRole(...roles: Role[]): preHandlerAsyncHookHandler {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const p = req.principal;
    if (!p) throw new PipelineError('AUTH_MISSING_TOKEN', `${req.method} ${req.routeOptions.url ?? ''} needs a token.`);
    if (p.role !== 'admin' && !roles.includes(p.role)) {
      throw new PipelineError('AUTH_FORBIDDEN', `Role ${p.role} may not call this.`, { role: p.role, allowed: roles });
    }
  };
}

/** The principal a requireRole-guarded handler can rely on. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new PipelineError('AUTH_MISSING_TOKEN', 'This route needs a token.');
  return req.principal;
}

export const isStaff = (p: Principal | undefined): boolean => p?.role === 'moderator' || p?.role === 'admin';
