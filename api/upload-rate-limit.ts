import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { PipelineError } from '../core/errors.ts';
import { parseFinalConcat } from '../ingest/concat.ts';
import { UPLOAD_TOKEN_HEADER, type UploadTokens } from '../ingest/upload-token.ts';

/**
 * Budgets for the upload routes, apart from the API's per-IP budget: a family (or a school) behind one NAT address
 * resuming several uploads sends hundreds of PATCH and HEAD requests a minute, each for its own upload, and must not
 * be cut off because they share an address. Each upload URL, and each uploader, gets its own budget instead.
 */
export interface UploadRateLimit {
  /** tus requests (PATCH, HEAD, DELETE) per upload URL and window (UPLOAD_RATE_LIMIT_PER_UPLOAD); default 600. */
  readonly perUpload?: number;
  /**
   * tus creations (POST) and upload-token requests per uploader and window (UPLOAD_RATE_LIMIT_PER_USER); default 120.
   * Requests that name no uploader (no or a bad token) share a budget per client IP.
   */
  readonly perUser?: number;
  /** Window length in ms (RATE_LIMIT_WINDOW_MS); default 60 000. */
  readonly windowMs?: number;
}

function limited(max: number, windowMs: number, keyGenerator: (req: FastifyRequest) => string): RateLimitOptions {
  return {
    max,
    timeWindow: windowMs,
    keyGenerator,
    errorResponseBuilder: (_req, ctx) => new PipelineError('INGEST_RATE_LIMITED', `Limit ${ctx.max} per ${ctx.after}.`, { max: ctx.max }),
  };
}

/** The request's upload-token subject, when it carries a valid token; '' for a valid token without subject. */
function tokenSubject(req: FastifyRequest, tokens: UploadTokens): string | undefined {
  const header = req.headers[UPLOAD_TOKEN_HEADER.toLowerCase()];
  if (typeof header !== 'string') return undefined;
  try {
    return tokens.verify(header).sub ?? '';
  } catch {
    return undefined; // the tus handler refuses the token itself; here it only decides which budget is charged
  }
}

/** `/uploads/<id>`: each upload URL has its own budget (the URL is the capability, so its holder is the uploader). */
export function perUploadLimit(o: UploadRateLimit): RateLimitOptions {
  return limited(o.perUpload ?? 600, o.windowMs ?? 60_000, (req) => {
    const id = (req.params as Record<string, string | undefined>)['*'] ?? '';
    return `upload:${id}`;
  });
}

/**
 * `/uploads` (creation): charged to the token's uploader. The final request of a concatenation carries no token and
 * is charged to its first partial upload, which the same uploader created.
 */
export function creationLimit(o: UploadRateLimit, tokens: UploadTokens, mountPath: string): RateLimitOptions {
  return limited(o.perUser ?? 120, o.windowMs ?? 60_000, (req) => {
    const sub = tokenSubject(req, tokens);
    if (sub !== undefined) return `uploader:${sub}`;
    const concat = req.headers['upload-concat'];
    if (req.method === 'POST' && typeof concat === 'string' && concat.startsWith('final;')) {
      try {
        return `upload:${parseFinalConcat(concat, mountPath)[0]}`;
      } catch {
        return `ip:${req.ip}`; // refused by the tus handler with INGEST_CONCAT_INVALID
      }
    }
    return `ip:${req.ip}`;
  });
}

/** POST /api/upload-tokens: charged to the signed-in user (the auth hook ran before), or the client IP. */
export function tokenIssueLimit(o: UploadRateLimit): RateLimitOptions {
  return limited(o.perUser ?? 120, o.windowMs ?? 60_000, (req) => (req.principal ? `user:${req.principal.id}` : `ip:${req.ip}`));
}
