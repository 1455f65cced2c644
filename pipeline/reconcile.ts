import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Job, Queue } from 'bullmq';
import { describeError, ERROR_DEFINITIONS, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import { QUEUE_NAMES, type TranscodeJobData, type TranscodeSource } from '../core/types.ts';
import type { UnfinishedVideoRow, UnfinishedVideos } from '../db/unfinished-videos.ts';
import type { VideoRepository } from '../db/videos.ts';
import { restoredUploadName } from '../ingest/video-files.ts';
import type { VideoSources } from './sources.ts';

/** BullMQ states in which a job still runs or will run: the reconciler never touches these. */
const LIVE_STATES: ReadonlySet<string> = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);

export type RepairReason = 'job_missing' | 'job_completed' | 'job_failed';

/**
 * Queues a video's transcode under its one job id, the video id. BullMQ ignores an add whose id it still holds, so a
 * kept completed or failed job of the same id is removed first; a live job (waiting, running, …) is left as it is and
 * nothing is added. Every re-queue (reconciler, restore) goes through here, so a video never has two jobs.
 */
export async function requeueTranscode(queue: Queue<TranscodeJobData>, data: TranscodeJobData): Promise<boolean> {
  if (LIVE_STATES.has(await queue.getJobState(data.videoId))) return false;
  // Also clears a job hash that is in no state list at all (a partly deleted key space), which would swallow the add.
  await queue.remove(data.videoId);
  await queue.add(QUEUE_NAMES.transcode, data, { jobId: data.videoId });
  return true;
}

export interface ReconcilerOptions {
  readonly records: UnfinishedVideos;
  readonly videos: VideoRepository;
  readonly queue: Queue<TranscodeJobData>;
  /** tus staging dir (DATA_DIR/uploads): where a video's upload, or its master restored from the archive, sits. */
  readonly uploadDir: string;
  /** Stripped masters (DATA_DIR/masters); prepare reuses a video's master when it exists. */
  readonly mastersDir: string;
  /** With the bucket (STORAGE_DRIVER=s3) the upload and master are looked for there; default the data volume. */
  readonly sources?: VideoSources;
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
  /** A worker heartbeat younger than this means the video is being processed even if Redis lost its job (2 × JOB_LOCK_MS). */
  readonly heartbeatStaleMs: number;
  /**
   * A finished job younger than this is left alone: its worker records the outcome on the row just after BullMQ
   * marks the job failed. Default 60 000 ms.
   */
  readonly finishedGraceMs?: number;
  /** Rows read per query; default 500. */
  readonly batchSize?: number;
}

export interface ReconcileResult {
  /** False when another process held the lock and ran the pass instead. */
  readonly ran: boolean;
  readonly checked: number;
  readonly repaired: ReadonlyArray<{ readonly videoId: string; readonly reason: RepairReason }>;
  /** Unfinished videos with neither their upload nor their master on disk: nothing to re-queue. */
  readonly sourceMissing: readonly string[];
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** A path from the database, accepted only as a direct child of `dir`. */
function childOf(dir: string, name: string): string | undefined {
  const p = path.resolve(dir, name);
  return path.dirname(p) === path.resolve(dir) ? p : undefined;
}

/** The stable code at the start of a failed job's reason (PipelineError messages and UnrecoverableError(code)). */
function codeOf(failedReason: string | undefined): ErrorCode {
  const head = /^([A-Z][A-Z0-9_]+)(?::|$)/.exec(failedReason ?? '')?.[1];
  return head !== undefined && head in ERROR_DEFINITIONS ? (head as ErrorCode) : 'TRANSCODE_FFMPEG_FAILED';
}

/**
 * PostgreSQL is the source of truth, Redis only carries the work: every unfinished video (`uploaded`, `processing`)
 * must have a live transcode job. One pass, under an advisory lock so only one process runs it, looks at each
 * unfinished video no worker has a fresh heartbeat for, and by its job's BullMQ state (job id = video id):
 * - live (waiting, active, delayed, …): left alone — a job another worker runs is never touched;
 * - no job (Redis restarted without persistence, keys deleted, the add after the row insert failed): re-queued with
 *   the same data intake gives it (`{videoId, sourcePath}`; a kept master makes prepare skip straight to it);
 * - completed, yet the row is unfinished (the database was restored from an older backup, or something set the row
 *   back without queuing a job): the row wins, and the transcode runs again;
 * - failed, yet the row is unfinished (the worker's write of the failure was lost): the job's verdict is recorded on
 *   the row with its code. It is not re-run: its attempts are used up, and a source that crashes every worker must
 *   not loop; the retry action re-runs failed videos on purpose.
 */
export class Reconciler {
  readonly #reportedMissing = new Set<string>();

  constructor(private readonly o: ReconcilerOptions) {}

  async runOnce(): Promise<ReconcileResult> {
    const pass = await this.o.records.whileLocked(() => this.#pass());
    this.o.metrics?.reconcilerRuns.inc({ outcome: pass.ran ? 'done' : 'locked' });
    return pass.ran ? pass.value : { ran: false, checked: 0, repaired: [], sourceMissing: [] };
  }

  async #pass(): Promise<ReconcileResult> {
    const repaired: Array<{ videoId: string; reason: RepairReason }> = [];
    const sourceMissing: string[] = [];
    let checked = 0;
    let afterId: string | undefined;
    for (;;) {
      const limit = this.o.batchSize ?? 500;
      const rows = await this.o.records.unowned({ afterId, limit, heartbeatStaleMs: this.o.heartbeatStaleMs });
      for (const row of rows) {
        // One video that cannot be repaired (a failed write) must not keep the others from being looked at.
        const outcome = await this.#reconcile(row).catch((err: unknown) => {
          this.o.logger.error({ err: describeError(err), videoId: row.id }, 'reconciler could not repair a video');
          return undefined;
        });
        if (outcome === 'source_missing') sourceMissing.push(row.id);
        else if (outcome) repaired.push({ videoId: row.id, reason: outcome });
      }
      checked += rows.length;
      if (rows.length < limit) break;
      afterId = rows.at(-1)?.id;
    }
    if (repaired.length) this.o.logger.warn({ checked, repaired: repaired.length }, 'reconciler repaired lost transcode jobs');
    return { ran: true, checked, repaired, sourceMissing };
  }

  async #reconcile(row: UnfinishedVideoRow): Promise<RepairReason | 'source_missing' | undefined> {
    const { queue, records } = this.o;
    const state = await queue.getJobState(row.id);
    if (LIVE_STATES.has(state)) return undefined;
    let job: Job<TranscodeJobData> | undefined;
    if (state === 'completed' || state === 'failed') {
      job = await queue.getJob(row.id);
      if (job?.finishedOn && Date.now() - job.finishedOn < (this.o.finishedGraceMs ?? 60_000)) return undefined;
    }
    // Re-read last: a video that finished while we looked at Redis is not repaired.
    const status = await records.statusOf(row.id);
    if (status !== 'uploaded' && status !== 'processing') return undefined;
    const log = { videoId: row.id, status, stage: row.stage, jobState: state };
    if (state === 'failed' && job) {
      await this.#recordFailure(row.id, job);
      this.#count('job_failed');
      this.o.logger.warn({ ...log, reason: job.failedReason }, 'reconciler recorded the failure of a finished job on its unfinished video');
      return 'job_failed';
    }
    const source = await this.#sourceOf(row);
    if (!source) {
      if (!this.#reportedMissing.has(row.id)) {
        this.#reportedMissing.add(row.id);
        this.o.logger.error(log, 'unfinished video has neither its upload nor its master on disk: its job cannot be re-queued');
      }
      return 'source_missing';
    }
    await requeueTranscode(queue, { videoId: row.id, ...source });
    const reason: RepairReason = state === 'completed' ? 'job_completed' : 'job_missing';
    this.#count(reason);
    this.o.logger.warn({ ...log, reason, ...source }, 'reconciler re-queued the transcode of an unfinished video');
    return reason;
  }

  #count(reason: RepairReason): void {
    this.o.metrics?.reconcilerRepairs.inc({ reason });
  }

  /**
   * The path intake would have queued: the tus upload, or a master restored from the archive. When neither is left but
   * the stripped master is, prepare starts from the master and never opens the path, so the upload's path is kept.
   */
  async #sourceOf(row: UnfinishedVideoRow): Promise<TranscodeSource | undefined> {
    if (this.o.sources?.kind === 'bucket') return this.o.sources.requeueSource(row);
    const sourcePath = await this.#sourcePathOf(row);
    return sourcePath === undefined ? undefined : { sourcePath };
  }

  async #sourcePathOf(row: UnfinishedVideoRow): Promise<string | undefined> {
    const upload = row.source_key ? childOf(this.o.uploadDir, row.source_key) : undefined;
    if (upload && (await exists(upload))) return upload;
    const restored = path.join(path.resolve(this.o.uploadDir), restoredUploadName(row.id));
    if (await exists(restored)) return restored;
    const master = row.stripped_master_key ? path.resolve(this.o.mastersDir, row.stripped_master_key) : undefined;
    const masterInside = master?.startsWith(path.resolve(this.o.mastersDir) + path.sep) === true;
    if (masterInside && (await exists(master!))) return upload ?? restored;
    return undefined;
  }

  async #recordFailure(videoId: string, job: Job<TranscodeJobData>): Promise<void> {
    const code = codeOf(job.failedReason);
    // 422 codes are the upload's fault (rejected); everything else failed on our side.
    const status = ERROR_DEFINITIONS[code].status === 422 ? 'rejected' : 'failed';
    // Stores the video.failed webhook event in the same transaction (the outbox relay delivers it).
    await this.o.videos.markFailed(videoId, status, code, job.failedReason || 'The transcode job failed.');
  }
}

export interface ReconcileTimerOptions {
  readonly reconciler: Reconciler;
  /** Interval between passes (RECONCILE_INTERVAL_SEC); the first pass runs at once. */
  readonly everyMs: number;
  /** Runs after each reconcile pass (the stuck-video check). */
  readonly after?: () => Promise<unknown>;
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
}

/**
 * Runs the reconciler now and then every `everyMs` (a pass still going when the next is due is not doubled). stop()
 * waits for a pass in flight, so the database pool it uses is not closed under it.
 */
export function startReconcileTimer(o: ReconcileTimerOptions): { stop(): Promise<void> } {
  let current: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    current = (async () => {
      await o.reconciler.runOnce().catch((err: unknown) => {
        o.metrics?.reconcilerRuns.inc({ outcome: 'error' });
        o.logger.error({ err: describeError(err) }, 'reconciler pass failed');
      });
      await o.after?.().catch((err: unknown) => o.logger.error({ err: describeError(err) }, 'stuck-video check failed'));
    })();
    void current.finally(() => {
      if (stopped) return;
      timer = setTimeout(tick, o.everyMs);
      timer.unref();
    });
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
