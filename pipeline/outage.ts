import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { describeError, isPipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import type { Dependency, DependencyWait, TranscodeJobData } from '../core/types.ts';
import type { VideoRepository } from '../db/videos.ts';

/**
 * The one place that decides whether a failed job run was a dependency outage (wait, spend no attempt) or a failure
 * of the job itself (BullMQ's attempts and backoff). An outage says nothing about the video: a video must not end
 * `failed` because clamd restarted or PostgreSQL was down for 20 s.
 */

/** Delay before the next run of a waiting job: `baseMs` doubling per wait, never more than `maxMs`. */
export interface DependencyBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * PostgreSQL SQLSTATEs of a server that is going away or cannot take us now: class 08 (connection exception),
 * 57P01-57P03 (admin/crash shutdown, cannot connect now), 53100 (its disk is full), 53300 (too many connections).
 */
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[1-3]|53100|53300)$/;
/** postgres.js's own codes for a connection that closed under a query or never opened. */
const PG_CLIENT = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);
/** Socket errors: whoever we were talking to is not there (which one is not in the error). */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT']);
/** ffmpeg reports a full disk only in its stderr, which our errors carry in their message or context. */
const DISK_TEXT = /no space left on device|disk quota exceeded/i;
/** S3 answers that mean "try again later" rather than "this request is wrong". */
const S3_TRANSIENT = new Set(['ServiceUnavailable', 'SlowDown', 'InternalError', 'RequestTimeout']);
/** How long the database gets to answer the "is it you?" question before it counts as down. */
const PROBE_TIMEOUT_MS = 5000;

const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
};

/** The error and its causes, outermost first (bounded: a cause cycle must not hang the worker). */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && out.length < 8; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** Message plus context (ffmpeg's stderr tail lives there). */
function textOf(e: unknown): string {
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  return isPipelineError(e) ? `${message} ${JSON.stringify(e.context)}` : message;
}

/** What one error in the chain says by itself, without asking anyone. */
function classifyOne(e: unknown): Dependency | undefined {
  // clamd dropping a scan half-way is not waited out: a file that crashes clamd would otherwise take the scanner down
  // again on every try, for ever. That run spends an attempt; the next one finds clamd down (or not) at connect.
  if (isPipelineError(e, 'INGEST_SCAN_UNAVAILABLE')) return e.context['phase'] === 'scan' ? undefined : 'clamd';
  const code = codeOf(e);
  if ((code && DISK_CODES.has(code)) || DISK_TEXT.test(textOf(e))) return 'disk';
  if (code && PG_CLIENT.has(code)) return 'database';
  if (e instanceof Error && e.name === 'PostgresError' && code && PG_UNAVAILABLE.test(code)) return 'database';
  if (isPipelineError(e, 'STORAGE_BACKEND_FAILED')) {
    // s3Code carries the socket errno when no S3 answer came back, and is unset when the client named nothing.
    const s3 = e.context['s3Code'];
    if (typeof s3 !== 'string' || S3_TRANSIENT.has(s3) || NETWORK.has(s3)) return 'storage';
  }
  return undefined;
}

export interface ClassifyOptions {
  /** Resolves when the database answers (VideoRepository.ping); asked only about socket errors nobody claimed. */
  readonly probeDatabase: () => Promise<void>;
}

/**
 * The dependency whose outage made a run fail, or undefined when the failure is the job's own. Cancels and verdicts
 * (UnrecoverableError) are never outages. A bare socket error names no service, so the database is asked whether it
 * is the one down (its pool is the only client in a job that throws unwrapped socket errors).
 */
export async function classifyOutage(err: unknown, o: ClassifyOptions): Promise<Dependency | undefined> {
  if (err instanceof UnrecoverableError || err instanceof DelayedError || isPipelineError(err, 'TRANSCODE_CANCELLED')) return undefined;
  const chain = causes(err);
  for (const e of chain) {
    const dep = classifyOne(e);
    if (dep) return dep;
  }
  if (!chain.some((e) => NETWORK.has(codeOf(e) ?? ''))) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('database probe timed out')), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([o.probeDatabase(), timeout]);
    return undefined;
  } catch {
    return 'database';
  } finally {
    clearTimeout(timer);
  }
}

/** The delay before run number `count + 1` of a waiting job. */
export function backoffDelay(count: number, b: DependencyBackoff): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.min(count, 30));
}

/** The next wait: a streak continues while the same dependency is missing, and starts over for another one. */
export function nextWait(prev: DependencyWait | undefined, dependency: Dependency, now: number): DependencyWait {
  return prev?.dependency === dependency ? { dependency, since: prev.since, count: prev.count + 1 } : { dependency, since: now, count: 0 };
}

export interface DelayForDependencyOptions {
  readonly videos: VideoRepository;
  readonly backoff: DependencyBackoff;
  readonly logger: Pick<Logger, 'warn' | 'error'>;
  readonly metrics?: PipelineMetrics;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

/**
 * Puts the job back as delayed without spending an attempt (BullMQ moveToDelayed with the job's lock token, then
 * DelayedError so the worker neither completes nor fails it) and records on the row what the video is waiting for.
 * With the database down there is no row to write: the job just waits. Always throws.
 */
export async function delayForDependency(
  job: Job<TranscodeJobData>,
  token: string,
  dependency: Dependency,
  cause: unknown,
  o: DelayForDependencyOptions,
): Promise<never> {
  const now = (o.now ?? Date.now)();
  const wait = nextWait(job.data.wait, dependency, now);
  const delayMs = backoffDelay(wait.count, o.backoff);
  const { videoId } = job.data;
  await job.updateData({ ...job.data, wait });
  if (dependency !== 'database') {
    await o.videos
      .markWaiting(videoId, dependency, new Date(wait.since))
      .catch((err: unknown) => o.logger.error({ err: describeError(err), videoId }, 'could not record the wait on the video'));
  }
  await job.moveToDelayed(now + delayMs, token);
  o.metrics?.dependencyWaits.inc({ dependency });
  o.logger.warn(
    { videoId, dependency, delayMs, waits: wait.count + 1, waitingSince: new Date(wait.since).toISOString(), err: describeError(cause) },
    'dependency unavailable: job delayed without spending an attempt',
  );
  throw new DelayedError(`waiting for ${dependency}`);
}
