import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric of the pipeline, defined once. Stages receive the `PipelineMetrics` object as an optional
 * dependency (no global registry, so tests and several apps in one process never share counters) and call e.g.
 * `metrics.scanResults.inc({ result: 'clean' })`. The API serves `registry` at /metrics.
 */
export interface QueueLike {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** Job states reported per queue (BullMQ's names). */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed', 'paused'] as const;
/** States that count as backlog: work not yet started. */
const BACKLOG_STATES = new Set(['waiting', 'delayed', 'prioritized', 'paused']);

export interface PipelineMetrics {
  readonly registry: Registry;
  /** Bytes of finished uploads. */
  readonly uploadBytes: Counter<never>;
  /** Virus-scan outcomes: result = clean | infected | error. */
  readonly scanResults: Counter<'result'>;
  /** Wall-clock seconds of one transcode job (probe → ready); outcome = ready | failed. */
  readonly transcodeSeconds: Histogram<'outcome'>;
  /** Media seconds per wall-clock second of a finished transcode (×realtime; > 1 is faster than realtime). */
  readonly transcodeRealtimeFactor: Histogram<never>;
  /** Webhook delivery attempts: outcome = ok | failed. */
  readonly webhookDeliveries: Counter<'event' | 'outcome'>;
  /** Webhook events moved from the outbox table into the delivery queue. */
  readonly webhookEventsRelayed: Counter<never>;
  /** Job runs put back to wait because a dependency was unavailable: clamd | database | storage | disk. */
  readonly dependencyWaits: Counter<'dependency'>;
  /** HTTP responses by route pattern and status class. */
  readonly httpResponses: Counter<'method' | 'route' | 'status'>;
  /** Jobs this worker found stalled (their worker stopped renewing the lock, e.g. it died) and handed back. */
  readonly jobsStalled: Counter<never>;
  /** Transcode attempts that will run again: reason = stalled (lock lost) | retry (attempt failed, attempts left). */
  readonly jobsRequeued: Counter<'reason'>;
  /** Jobs the reconciler restored from PostgreSQL: reason = job_missing | job_orphaned | job_completed | job_failed. */
  readonly reconcilerRepairs: Counter<'reason'>;
  /** Reconciler passes: outcome = done | locked (another process ran it) | error. */
  readonly reconcilerRuns: Counter<'outcome'>;
  /** Unfinished videos whose row has not changed for STUCK_VIDEO_MINUTES (deployment-wide, read from PostgreSQL). */
  readonly videosStuck: Gauge<never>;
  /** Adds queue depth and jobs-by-state gauges for these queues, read at scrape time. */
  trackQueues(queues: readonly QueueLike[]): void;
}

export interface MetricsOptions {
  /** Metric name prefix; default `kidstream_`. */
  readonly prefix?: string;
  /** Also export Node process metrics (event loop lag, heap, …); default true. */
  readonly processMetrics?: boolean;
}

export function createMetrics(o: MetricsOptions = {}): PipelineMetrics {
  const p = o.prefix ?? 'kidstream_';
  const registry = new Registry();
  if (o.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  const registers = [registry];
  const queues: QueueLike[] = [];
  // prom-client collects both gauges concurrently per scrape; they share the one in-flight read of the counts.
  let inflight: Promise<Array<[string, Record<string, number>]>> | undefined;
  const snapshot = (): Promise<Array<[string, Record<string, number>]>> => {
    inflight ??= Promise.all(
      queues.map(async (q) => [q.name, await q.getJobCounts(...JOB_STATES)] as [string, Record<string, number>]),
    ).finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  new Gauge<'queue' | 'state'>({
    name: `${p}queue_jobs`,
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const [queue, counts] of await snapshot()) for (const state of JOB_STATES) this.set({ queue, state }, counts[state] ?? 0);
    },
  });
  new Gauge<'queue'>({
    name: `${p}queue_depth`,
    help: 'Jobs waiting to run (waiting + delayed + prioritized + paused)',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const [queue, counts] of await snapshot()) {
        this.set(
          { queue },
          JOB_STATES.filter((st) => BACKLOG_STATES.has(st)).reduce((n, st) => n + (counts[st] ?? 0), 0),
        );
      }
    },
  });
  return {
    registry,
    uploadBytes: new Counter({ name: `${p}upload_bytes_total`, help: 'Bytes of finished uploads', registers }),
    scanResults: new Counter({ name: `${p}scan_results_total`, help: 'Virus scan results', labelNames: ['result'], registers }),
    transcodeSeconds: new Histogram({
      name: `${p}transcode_seconds`,
      help: 'Wall-clock seconds per transcode job',
      labelNames: ['outcome'],
      registers,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600],
    }),
    transcodeRealtimeFactor: new Histogram({
      name: `${p}transcode_realtime_factor`,
      help: 'Media seconds transcoded per wall-clock second',
      registers,
      buckets: [0.25, 0.5, 1, 2, 4, 8, 16, 32],
    }),
    webhookDeliveries: new Counter({
      name: `${p}webhook_deliveries_total`,
      help: 'Webhook delivery attempts',
      labelNames: ['event', 'outcome'],
      registers,
    }),
    webhookEventsRelayed: new Counter({
      name: `${p}webhook_events_relayed_total`,
      help: 'Webhook events moved from the outbox into the delivery queue',
      registers,
    }),
    dependencyWaits: new Counter({
      name: `${p}dependency_waits_total`,
      help: 'Job runs delayed (no attempt spent) because a dependency was unavailable',
      labelNames: ['dependency'],
      registers,
    }),
    httpResponses: new Counter({
      name: `${p}http_responses_total`,
      help: 'HTTP responses',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    jobsStalled: new Counter({ name: `${p}jobs_stalled_total`, help: 'Jobs found stalled and handed back to the queue', registers }),
    jobsRequeued: new Counter({
      name: `${p}jobs_requeued_total`,
      help: 'Transcode attempts queued again after a stall or a failed attempt',
      labelNames: ['reason'],
      registers,
    }),
    reconcilerRepairs: new Counter({
      name: `${p}reconciler_repairs_total`,
      help: 'Jobs the reconciler restored from PostgreSQL',
      labelNames: ['reason'],
      registers,
    }),
    reconcilerRuns: new Counter({ name: `${p}reconciler_runs_total`, help: 'Reconciler passes', labelNames: ['outcome'], registers }),
    videosStuck: new Gauge({ name: `${p}videos_stuck`, help: 'Unfinished videos without a change for STUCK_VIDEO_MINUTES', registers }),
    trackQueues(qs) {
      queues.push(...qs);
    },
  };
}
