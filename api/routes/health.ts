import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { describeError } from '../../core/errors.ts';
import type { PipelineMetrics } from '../../core/metrics.ts';

/** One dependency /readyz checks; `run` resolves when healthy, or is 'skipped' when the dependency is not configured. */
export interface ReadinessCheck {
  readonly name: string;
  readonly run: (() => Promise<void>) | 'skipped';
}

export interface HealthRoutesOptions {
  readonly checks: readonly ReadinessCheck[];
  readonly metrics: PipelineMetrics;
  /** Per-check timeout in ms; default 3000. */
  readonly timeoutMs?: number;
}

const CheckResult = z.object({
  status: z.enum(['ok', 'fail', 'skipped']),
  ms: z.number(),
  error: z.string().optional(),
});
const ReadyBody = z.object({ status: z.enum(['ok', 'fail']), checks: z.record(z.string(), CheckResult) });

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<z.infer<typeof CheckResult>> {
  if (c.run === 'skipped') return { status: 'skipped', ms: 0 };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.run(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 'fail', ms: Math.round(performance.now() - started), error: describeError(err).slice(0, 300) };
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz: the process answers (liveness). /readyz: every dependency answers (readiness, 503 otherwise). /metrics. */
export function registerHealthRoutes(app: FastifyInstance, o: HealthRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/healthz', {
    schema: { tags: ['ops'], summary: 'Liveness', response: { 200: z.object({ ok: z.literal(true) }) } },
    config: { rateLimit: false },
  }, async () => ({ ok: true as const }));

  r.get('/readyz', {
    schema: { tags: ['ops'], summary: 'Readiness of Postgres, Redis, clamd, ffmpeg and storage', response: { 200: ReadyBody, 503: ReadyBody } },
    config: { rateLimit: false },
  }, async (req, reply) => {
    const results = await Promise.all(o.checks.map(async (c) => [c.name, await runCheck(c, o.timeoutMs ?? 3000)] as const));
    const failed = results.filter(([, res]) => res.status === 'fail');
    if (failed.length) req.log.warn({ failed: Object.fromEntries(failed) }, 'readiness check failed');
    return reply.status(failed.length ? 503 : 200).send({ status: failed.length ? 'fail' : 'ok', checks: Object.fromEntries(results) });
  });

  r.get('/metrics', {
    schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] },
    config: { rateLimit: false },
  }, async (_req, reply) => {
    const body = await o.metrics.registry.metrics();
    return reply.header('content-type', o.metrics.registry.contentType).send(body);
  });
}
