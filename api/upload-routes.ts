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

/** Mounts the tus endpoint; fastify must not parse tus bodies, the tus server streams them to disk itself. */
export function registerUploadRoutes(app: FastifyInstance, o: UploadRoutesOptions): void {
  app.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null));
  const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.hijack();
    await o.tus.handle(req.raw, reply.raw);
  };
  const limits = o.rateLimit ?? {};
  app.all(o.mountPath, { config: { rateLimit: creationLimit(limits, o.tokens, o.mountPath) } }, handle);
  app.all(`${o.mountPath}/*`, { config: { rateLimit: perUploadLimit(limits) } }, handle);
}
