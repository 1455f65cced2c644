import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import { describeError } from '../../core/errors.ts';

/** One dependency /readyz checks; `run` resolves when healthy, or is 'skipped' when the dependency is not configured. */
export interface ReadinessCheck {
  readonly name: string;
  readonly run: (() => Promise<void>) | 'skipped';
}

export const CheckResult = z.object({
  status: z.enum(['ok', 'fail', 'skipped']),
  ms: z.number(),
  error: z.string().optional(),
});
export const ReadinessReport = z.object({
  status: z.enum(['ok', 'fail']),
  /** When the checks behind this report ran (reports are shared for ReadinessProbeOptions.cacheMs). */
  checkedAt: z.iso.datetime(),
  checks: z.record(z.string(), CheckResult),
});
export type ReadinessReport = z.infer<typeof ReadinessReport>;

export interface ReadinessProbeOptions {
  readonly checks: readonly ReadinessCheck[];
  /** Per-check timeout in ms; default 3000. */
  readonly timeoutMs?: number;
  /** How long one report is served before the checks run again, in ms; default 5000. 0 = no reuse after it completes. */
  readonly cacheMs?: number;
  /** Failed checks are logged once per run (not once per request); default: not logged. */
  readonly logger?: Pick<FastifyBaseLogger, 'warn'>;
  /** Clock in ms since epoch; default Date.now. */
  readonly now?: () => number;
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<z.infer<typeof CheckResult>> {
  if (c.run === 'skipped') return { status: 'skipped', ms: 0 };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 'fail', ms: Math.round(performance.now() - started), error: describeError(err).slice(0, 300) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the readiness checks at most once per cache window, and only one run at a time: concurrent callers share the
 * run in flight, later ones get its report until it is cacheMs old. /readyz is unauthenticated and exempt from rate
 * limits (probes must always get through), and the checks spawn ffmpeg and open clamd, Redis and Postgres
 * connections; run per request, a few looping clients were enough to starve the whole process. Failed reports are
 * cached too, so a dead dependency is not hammered by every probe either.
 */
export class ReadinessProbe {
  readonly #o: ReadinessProbeOptions;
  readonly #now: () => number;
  #inFlight: Promise<ReadinessReport> | undefined;
  #last: { readonly report: ReadinessReport; readonly at: number } | undefined;

  constructor(o: ReadinessProbeOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** The current report: cached while fresh, else the run in flight, else a new run. Never rejects. */
  report(): Promise<ReadinessReport> {
    const last = this.#last;
    if (last && this.#now() - last.at < (this.#o.cacheMs ?? 5000)) return Promise.resolve(last.report);
    this.#inFlight ??= this.#run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #run(): Promise<ReadinessReport> {
    const timeoutMs = this.#o.timeoutMs ?? 3000;
    const results = await Promise.all(this.#o.checks.map(async (c) => [c.name, await runCheck(c, timeoutMs)] as const));
    const failed = results.filter(([, res]) => res.status === 'fail');
    if (failed.length) this.#o.logger?.warn({ failed: Object.fromEntries(failed) }, 'readiness check failed');
    const at = this.#now();
    const report: ReadinessReport = {
      status: failed.length ? 'fail' : 'ok',
      checkedAt: new Date(at).toISOString(),
      checks: Object.fromEntries(results),
    };
    this.#last = { report, at };
    return report;
  }
}
