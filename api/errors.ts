import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isPipelineError } from '../core/errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; issues?: unknown };
}

/** Every error leaves the API as {error: {code, message}} with the status its code defines. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (isPipelineError(err)) {
      if (err.statusCode >= 500) req.log.error({ err }, 'request failed');
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message } } satisfies ErrorBody);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({ path: v.instancePath, message: v.message }));
      return reply.status(400).send({
        error: { code: 'API_BAD_REQUEST', message: `Invalid ${err.validationContext ?? 'request'}: ${err.message}`, issues },
      } satisfies ErrorBody);
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, issues: err.cause.issues }, 'response did not match its schema');
      return reply.status(500).send({ error: { code: 'API_INTERNAL', message: 'Internal error; see server logs.' } } satisfies ErrorBody);
    }
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error');
    const code = status >= 500 ? 'API_INTERNAL' : status === 429 ? 'API_RATE_LIMITED' : 'API_BAD_REQUEST';
    return reply
      .status(status)
      .send({ error: { code, message: status >= 500 ? 'Internal error; see server logs.' : err.message } } satisfies ErrorBody);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'API_NOT_FOUND', message: `No route ${req.method} ${req.url}.` } } satisfies ErrorBody);
  });
}
