import type { FastifyError, FastifyInstance } from 'fastify';
import { isPipelineError } from '../core/errors.ts';

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Every error leaves the API as {error: {code, message}} with the status its code defines. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (isPipelineError(err)) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message } } satisfies ErrorBody);
    }
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error');
    const code = status >= 500 ? 'API_INTERNAL' : ('code' in err && typeof err.code === 'string' ? err.code : 'API_BAD_REQUEST');
    return reply.status(status).send({ error: { code, message: status >= 500 ? 'Internal error; see server logs.' : err.message } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'API_NOT_FOUND', message: `No route ${req.method} ${req.url}.` } } satisfies ErrorBody);
  });
}
