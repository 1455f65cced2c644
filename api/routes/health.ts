import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PipelineMetrics } from '../../core/metrics.ts';
import { errorResponses, security } from '../openapi.ts';
import { ReadinessProbe, ReadinessReport, type ReadinessCheck } from './readiness-probe.ts';

export type { ReadinessCheck } from './readiness-probe.ts';

export interface HealthRoutesOptions {
  readonly checks: readonly ReadinessCheck[];
  readonly metrics: PipelineMetrics;
  /** Per-check timeout in ms; default 3000. */
  readonly timeoutMs?: number;
  /** How long /readyz serves one result before the checks run again, in ms; default 5000. */
  readonly cacheMs?: number;
}

/** /healthz: the process answers (liveness). /readyz: every dependency answers (readiness, 503 otherwise). /metrics. */
export function registerHealthRoutes(app: FastifyInstance, o: HealthRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        security: security('public'),
        response: { 200: z.object({ ok: z.literal(true) }), ...errorResponses('AUTH_INVALID_TOKEN') },
      },
      config: { rateLimit: false },
    },
    async () => ({ ok: true as const }),
  );

  const probe = new ReadinessProbe({ checks: o.checks, timeoutMs: o.timeoutMs, cacheMs: o.cacheMs, logger: app.log });
  r.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness of Postgres, Redis, clamd, ffmpeg, storage and free disk (result reused for a few seconds)',
        security: security('public'),
        response: { 200: ReadinessReport, 503: ReadinessReport, ...errorResponses('AUTH_INVALID_TOKEN') },
      },
      config: { rateLimit: false },
    },
    async (_req, reply) => {
      const report = await probe.report();
      return reply.status(report.status === 'ok' ? 200 : 503).send(report);
    },
  );

  r.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        security: security('public'),
      },
      config: { rateLimit: false },
    },
    async (_req, reply) => {
      const body = await o.metrics.registry.metrics();
      return reply.header('content-type', o.metrics.registry.contentType).send(body);
    },
  );
}
