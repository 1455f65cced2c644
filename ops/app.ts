import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { PipelineMetrics } from '../core/metrics.ts';
import type { CancelOutcome } from '../pipeline/queue.ts';
import { startApiRole } from './api-root.ts';
import { Cleanups } from './cleanups.ts';
import type { AppConfig } from './config.ts';
import { openShared } from './shared-root.ts';
import { startWorkerRole } from './worker-root.ts';

/** What a process runs: the HTTP API (with tus ingest), the transcode worker, or both. Not a user's role. */
export type ProcessRole = 'api' | 'worker';

export interface StartAppOptions {
  readonly config: AppConfig;
  /** Which parts run in this process; default both. */
  readonly roles?: readonly ProcessRole[];
  readonly logger: Logger;
  /** Clock (ms) of playback signatures and the playback access cache; default Date.now. Tests move it forward. */
  readonly now?: () => number;
}

export interface RunningApp {
  /** Base URL of the API when the api role runs. */
  readonly url: string | undefined;
  readonly api: FastifyInstance | undefined;
  readonly metrics: PipelineMetrics;
  /** Cancels a video's transcode wherever it runs (see pipeline/queue.ts); the video ends TRANSCODE_CANCELLED. */
  cancelTranscode(videoId: string): Promise<CancelOutcome>;
  /** Idempotent: stops the worker (letting the current job finish), the API, queues and the pool. */
  close(): Promise<void>;
}

/** The composition root of a process: shared resources, then the worker role and/or the API role. */
export async function startApp(o: StartAppOptions): Promise<RunningApp> {
  const roles = new Set(o.roles ?? ['api', 'worker']);
  const cleanups = new Cleanups(o.logger);
  try {
    const shared = await openShared(o.config, o.logger, cleanups);
    if (roles.has('worker')) await startWorkerRole(shared, cleanups, { withApi: roles.has('api') });
    const api = roles.has('api') ? await startApiRole(shared, cleanups, { withWorker: roles.has('worker'), now: o.now }) : undefined;
    return { url: api?.url, api: api?.api, metrics: shared.metrics, close: () => cleanups.close(), cancelTranscode: shared.cancel };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}
