import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UploadTokens } from '../ingest/upload-token.ts';
import { principalOf, requireRole } from './auth.ts';
import { errorResponses, security } from './openapi.ts';
import { tokenIssueLimit, type UploadRateLimit } from './upload-rate-limit.ts';

export interface UploadTokenRoutesOptions {
  readonly tokens: UploadTokens;
  /** Tokens per user and window, instead of the API's per-IP budget; default see UploadRateLimit. */
  readonly rateLimit?: UploadRateLimit;
}

const TokenOut = z.object({ token: z.string(), expiresAt: z.iso.datetime(), header: z.literal('Upload-Token') });

/**
 * POST /api/upload-tokens → {token, expiresAt, header}: what a signed-in uploader sends in the Upload-Token header to
 * create uploads. The token carries the caller's id, which becomes the video's uploader.
 */
export function registerUploadTokenRoutes(app: FastifyInstance, o: UploadTokenRoutesOptions): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/upload-tokens',
    {
      preHandler: requireRole('uploader'),
      config: { rateLimit: tokenIssueLimit(o.rateLimit ?? {}) },
      schema: {
        tags: ['uploads'],
        summary: 'Issue a short-lived token that authorises creating tus uploads',
        body: z.object({}).strict().nullish(),
        security: security('bearer'),
        // Its own rate limit (per uploader) replaces the global one.
        response: {
          201: TokenOut,
          ...errorResponses('AUTH_INVALID_TOKEN', 'AUTH_MISSING_TOKEN', 'AUTH_FORBIDDEN', 'API_BAD_REQUEST', 'INGEST_RATE_LIMITED'),
        },
      },
    },
    async (req, reply) => {
      const issued = o.tokens.issue({ uploaderId: principalOf(req).id });
      reply.header('cache-control', 'no-store');
      return reply.status(201).send({ token: issued.token, expiresAt: issued.expiresAt.toISOString(), header: 'Upload-Token' as const });
    },
  );
}
