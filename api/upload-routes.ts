import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TusIngest } from '../ingest/tus.ts';

/** Mounts the tus endpoint; fastify must not parse tus bodies, the tus server streams them to disk itself. */
export function registerUploadRoutes(app: FastifyInstance, tus: TusIngest, mountPath: string): void {
  app.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null));
  const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.hijack();
    await tus.handle(req.raw, reply.raw);
  };
  app.all(mountPath, handle);
  app.all(`${mountPath}/*`, handle);
}
