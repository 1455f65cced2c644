import { z } from 'zod';
import { ERROR_DEFINITIONS, type ErrorCode } from '../core/errors.ts';

/**
 * How a route is authorised, as its OpenAPI `security` says it:
 * - bearer: an access token is required (Authorization: Bearer, or ?access_token= for pages opened from a link);
 * - optional-bearer: anyone may call; a token widens what the answer holds (owners' and moderators' previews);
 * - signature: no token, the URL's ?sig= issued by /api/playback/:id is the credential;
 * - public: nothing (health, readiness, metrics).
 */
export type RouteSecurity = 'bearer' | 'optional-bearer' | 'signature' | 'public';

export const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
  playbackSignature: {
    type: 'apiKey',
    in: 'query',
    name: 'sig',
    description: 'Signature of a playback URL from GET /api/playback/{id}; every URI of a served playlist carries it.',
  },
} as const;

const SECURITY: Readonly<Record<RouteSecurity, ReadonlyArray<Record<string, string[]>>>> = {
  bearer: [{ bearer: [] }],
  // An empty requirement object means "no credentials" (OpenAPI 3.1 §4.8.30): either way works.
  'optional-bearer': [{}, { bearer: [] }],
  signature: [{ playbackSignature: [] }],
  public: [],
};

/** The `security` a route's schema declares. */
export const security = (kind: RouteSecurity): Array<Record<string, string[]>> => SECURITY[kind].map((r) => ({ ...r }));

/**
 * Error answers a route documents: one response per status, listing the stable codes of core/errors.ts that route can
 * answer with (an `enum` for client generators) and one example body per code. At run time `code` stays a plain
 * string: a code missing from a route's list is a documentation bug (the contract test looks for them), never a 500.
 */
export function errorResponses(...codes: readonly ErrorCode[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_DEFINITIONS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, z.ZodType> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[status] = z
      .object({
        error: z.object({
          code: z.string().meta({ enum: list }),
          message: z.string().describe('What went wrong and how to fix it (for people; match on code)'),
        }),
      })
      .meta({
        'x-response-description': list.join(', '),
        'x-examples': Object.fromEntries(list.map((c) => [c, { value: exampleBody(c) }])),
      });
  }
  return out;
}

function exampleBody(code: ErrorCode): { error: { code: string; message: string } } {
  return { error: { code, message: `${code}: <what happened>. ${ERROR_DEFINITIONS[code].hint}` } };
}

/** Codes any route can answer: a bad token is refused before routing decides anything, and the global rate limit. */
export const COMMON_ERRORS: readonly ErrorCode[] = ['AUTH_INVALID_TOKEN', 'API_RATE_LIMITED'];
/** What a route that requires a token adds: no token, and schema validation (role checks add AUTH_FORBIDDEN). */
export const BEARER_ERRORS: readonly ErrorCode[] = [...COMMON_ERRORS, 'AUTH_MISSING_TOKEN', 'API_BAD_REQUEST'];
