import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import type { UploadTokens } from '../ingest/upload-token.ts';

export interface UploadTokenRoutesOptions {
  readonly tokens: UploadTokens;
  /**
   * Who is asking, when the request is authenticated (a later auth layer decorates the request); the id becomes the
   * token's subject and so the video's uploader. Default: anonymous tokens.
   */
  readonly uploaderOf?: (req: import('fastify').FastifyRequest) => string | undefined;
}

const BodySchema = z.object({}).strict().optional();

/** POST /api/upload-tokens → {token, expiresAt, header}: what a client sends in the Upload-Token header to create uploads. */
export function registerUploadTokenRoutes(app: FastifyInstance, o: UploadTokenRoutesOptions): void {
  app.post('/api/upload-tokens', async (req, reply) => {
    const body = BodySchema.safeParse(req.body ?? undefined);
    if (!body.success) throw new PipelineError('API_BAD_REQUEST', 'POST /api/upload-tokens takes no body fields.');
    const issued = o.tokens.issue({ uploaderId: o.uploaderOf?.(req) });
    reply.header('cache-control', 'no-store');
    return reply.status(201).send({ token: issued.token, expiresAt: issued.expiresAt.toISOString(), header: 'Upload-Token' });
  });
}
