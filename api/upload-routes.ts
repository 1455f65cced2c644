import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TusIngest } from '../ingest/tus.ts';
import type { UploadTokens } from '../ingest/upload-token.ts';
import { creationLimit, perUploadLimit, type UploadRateLimit } from './upload-rate-limit.ts';

export interface UploadRoutesOptions {
  readonly tus: TusIngest;
  /** Verifies upload tokens, to charge creations to their uploader's rate budget. */
  readonly tokens: UploadTokens;
  /** URL path of the tus endpoint, e.g. /uploads. */
  readonly mountPath: string;
  /** Budgets per upload URL and per uploader, instead of the API's per-IP budget; default see UploadRateLimit. */
  readonly rateLimit?: UploadRateLimit;
}

/**
 * Mounts the tus endpoint in a scope of its own where fastify parses no body at all, whatever its Content-Type: the
 * tus server streams PATCH bodies to disk itself and answers every protocol error (a wrong Content-Type is its 415,
 * with Tus-Resumable and a JSON code), instead of fastify refusing a type it has no parser for.
 */
export function registerUploadRoutes(app: FastifyInstance, o: UploadRoutesOptions): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    mountTus(scope, o);
  });
}

function mountTus(app: FastifyInstance, o: UploadRoutesOptions): void {
  const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.hijack();
    await o.tus.handle(req.raw, reply.raw);
  };
  const limits = o.rateLimit ?? {};
  app.all(o.mountPath, { config: { rateLimit: creationLimit(limits, o.tokens, o.mountPath) } }, handle);
  app.all(`${o.mountPath}/*`, { config: { rateLimit: perUploadLimit(limits) } }, handle);
}
