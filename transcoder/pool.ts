import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { describeError, ERROR_DEFINITIONS, PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { FfmpegPlan } from './command.ts';
import { deathSignalWrapper } from './death-signal.ts';
import { isFromThread, type FromThread, type SerializedError, type ThreadInit } from './pool-protocol.ts';

export interface FfmpegPoolOptions {
  /** ffmpeg binary every thread runs. */
  readonly ffmpegPath: string;
  /**
   * util-linux setpriv (Linux): every ffmpeg gets SIGKILL from the kernel when its thread or the whole process dies, so
   * a crashed worker leaves no orphan ffmpeg (see death-signal.ts). Default unset: ffmpeg runs unwrapped (macOS).
   */
  readonly setprivPath?: string;
  readonly logger: Logger;
  /** Threads, i.e. ffmpeg children that may run at once; default os.availableParallelism(). */
  readonly size?: number;
  /** How long a thread may take to send its `ready` handshake, in ms; default 30 000. */
  readonly startTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL when a run is cancelled, in ms; default 5000. */
  readonly killTimeoutMs?: number;
  /** Thread entry module; default ./pool-thread-boot.mjs. Tests point it at a fixture that fails to start. */
  readonly entry?: URL;
}

export interface PoolRunOptions {
  /** Source duration in seconds (for progress); 0 = no progress events. */
  readonly durationSec: number;
  /** 0–100, clamped and never decreasing, ending with 100 on success. */
  readonly onProgress?: (percent: number) => void;
  /** The ffmpeg child's pid, once it spawned. */
  readonly onSpawn?: (pid: number) => void;
  /** Abort = cancel: SIGTERM, then SIGKILL after killTimeoutMs; the run rejects with TRANSCODE_CANCELLED. */
  readonly signal?: AbortSignal;
}

interface Pending {
  readonly plan: FfmpegPlan;
  readonly opts: PoolRunOptions;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  current: Running | undefined;
}

interface Running extends Pending {
  readonly taskId: number;
  pid: number | undefined;
  /** Removes the abort listener and resolves `settled`. */
  readonly finish: () => void;
  /** Resolves once the run is over, whatever the outcome (close() waits on it). */
  readonly settled: Promise<void>;
}

/** pool-thread-boot.mjs registers tsx in the thread, then loads pool-thread.ts (see the boot file for why). */
const DEFAULT_ENTRY = new URL('./pool-thread-boot.mjs', import.meta.url);

function rebuild(e: SerializedError): PipelineError {
  const prefix = `${e.code}: `;
  const hint = ` ${ERROR_DEFINITIONS[e.code].hint}`;
  const detail = e.message.startsWith(prefix) && e.message.endsWith(hint) ? e.message.slice(prefix.length, -hint.length) : e.message;
  return new PipelineError(e.code, detail, e.context);
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: the child already exited, which is what we want.
  }
}

/**
 * Worker threads that each supervise one ffmpeg child (after BullMQ's ChildPool): a thread joins only after its
 * `ready` handshake, a thread that failed to start or died is dropped and never reused, tasks queue when all threads
 * are busy. Threads keep ffmpeg's stderr parsing and process supervision off the main event loop, which must stay free
 * to renew BullMQ job locks during long transcodes.
 */
export class FfmpegPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private starting = 0;
  private nextTaskId = 1;
  private closing: Promise<void> | undefined;
  /** ffmpeg path the threads run: the death-signal wrapper when setpriv is available. */
  private ffmpegPath: string;

  private constructor(private readonly o: FfmpegPoolOptions) {
    this.size = Math.max(1, o.size ?? os.availableParallelism());
    this.ffmpegPath = o.ffmpegPath;
  }

  /** Starts every thread; fails with TRANSCODE_POOL_START_FAILED only when none of them starts. */
  static async create(o: FfmpegPoolOptions): Promise<FfmpegPool> {
    const pool = new FfmpegPool(o);
    if (o.setprivPath) pool.ffmpegPath = await deathSignalWrapper(o.ffmpegPath, o.setprivPath);
    const started = await Promise.allSettled(Array.from({ length: pool.size }, () => pool.startThread()));
    const failures = started.filter((r) => r.status === 'rejected').map((r) => describeError(r.reason));
    if (pool.slots.length === 0) {
      await pool.close();
      throw new PipelineError('TRANSCODE_POOL_START_FAILED', `None of ${pool.size} threads started.`, { failures });
    }
    if (failures.length) o.logger.warn({ failures }, 'some pool threads failed to start; they will be replaced on demand');
    return pool;
  }

  /** Threads ready, threads busy, runs waiting for a thread. */
  stats(): { threads: number; busy: number; queued: number } {
    return { threads: this.slots.length, busy: this.slots.filter((s) => s.current).length, queued: this.queue.length };
  }

  /** Runs one ffmpeg plan on a free thread (queues if none is free). Rejects with a PipelineError. */
  run(plan: FfmpegPlan, opts: PoolRunOptions): Promise<void> {
    if (this.closing) return Promise.reject(new PipelineError('TRANSCODE_POOL_CLOSED', 'The ffmpeg pool is closed.'));
    if (opts.signal?.aborted) return Promise.reject(new PipelineError('TRANSCODE_CANCELLED', 'Cancelled before start.'));
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { plan, opts, resolve, reject };
      // Cancelled while still waiting for a thread: leave the queue at once (assign() handles the running case).
      opts.signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(pending);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(new PipelineError('TRANSCODE_CANCELLED', 'Cancelled while waiting for a pool thread.'));
        },
        { once: true },
      );
      this.queue.push(pending);
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closing) {
      const idle = this.slots.find((s) => !s.current);
      if (idle) {
        this.assign(idle, this.queue.shift()!);
        continue;
      }
      if (this.slots.length + this.starting < this.size) {
        // A dead or never-started thread is replaced by a fresh one, never restarted in place.
        this.startThread().then(
          () => this.pump(),
          (err: unknown) => this.onStartFailed(err),
        );
      }
      return;
    }
  }

  private onStartFailed(err: unknown): void {
    this.o.logger.error({ err: describeError(err) }, 'pool thread failed to start');
    if (this.slots.length > 0 || this.starting > 0) return;
    for (const p of this.queue.splice(0)) {
      p.reject(new PipelineError('TRANSCODE_POOL_START_FAILED', 'No pool thread could start.', { err: describeError(err) }));
    }
  }

  private assign(slot: Slot, p: Pending): void {
    const taskId = this.nextTaskId++;
    const onAbort = (): void => slot.worker.postMessage({ type: 'cancel', taskId });
    p.opts.signal?.addEventListener('abort', onAbort, { once: true });
    let markSettled = (): void => undefined;
    const settled = new Promise<void>((r) => {
      markSettled = r;
    });
    const finish = (): void => {
      p.opts.signal?.removeEventListener('abort', onAbort);
      markSettled();
    };
    slot.current = { ...p, taskId, pid: undefined, finish, settled };
    const killTimeoutMs = this.o.killTimeoutMs ?? 5000;
    slot.worker.postMessage({ type: 'run', taskId, task: { plan: p.plan, durationSec: p.opts.durationSec, killTimeoutMs } });
    if (p.opts.signal?.aborted) onAbort();
  }

  private settle(slot: Slot, err: unknown): void {
    const cur = slot.current;
    if (!cur) return;
    slot.current = undefined;
    cur.finish();
    if (err === undefined) cur.resolve();
    else cur.reject(err);
    this.pump();
  }

  private onMessage(slot: Slot, m: FromThread): void {
    if (m.type === 'log') {
      this.o.logger[m.level](m.obj, m.msg);
      return;
    }
    const cur = slot.current;
    if (m.type === 'ready' || !cur || m.taskId !== cur.taskId) return;
    switch (m.type) {
      case 'spawned':
        cur.pid = m.pid;
        cur.opts.onSpawn?.(m.pid);
        return;
      case 'progress':
        cur.opts.onProgress?.(Math.max(0, Math.min(100, m.percent)));
        return;
      case 'done':
        return this.settle(slot, undefined);
      case 'failed':
        return this.settle(slot, rebuild(m.error));
      default: {
        const never: never = m;
        throw new Error(`unhandled pool message ${JSON.stringify(never)}`);
      }
    }
  }

  /** A thread that errors or exits is removed for good; its ffmpeg child is killed so nothing writes on. */
  private onThreadDeath(slot: Slot, reason: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    killQuietly(slot.current?.pid);
    if (!this.closing) this.o.logger.error({ reason }, 'pool thread died');
    this.settle(slot, new PipelineError('TRANSCODE_FFMPEG_FAILED', `The pool thread died (${reason}).`, { reason }));
  }

  private startThread(): Promise<void> {
    this.starting++;
    const init: ThreadInit = { ffmpegPath: this.ffmpegPath };
    const worker = new Worker(this.o.entry ?? DEFAULT_ENTRY, { workerData: init });
    const timeoutMs = this.o.startTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const detach = (): void => {
        clearTimeout(timer);
        worker.off('error', onError).off('exit', onExit).off('message', onReady);
      };
      const fail = (reason: string): void => {
        detach();
        worker.on('error', () => undefined); // late errors of a discarded thread are expected
        void worker.terminate();
        reject(new Error(reason));
      };
      const onError = (err: Error): void => fail(`thread error: ${err.message}`);
      const onExit = (code: number): void => fail(`thread exited with ${code} before ready`);
      const onReady = (m: unknown): void => {
        if (!isFromThread(m) || m.type !== 'ready') return;
        detach();
        if (this.closing) {
          void worker.terminate();
          reject(new Error('pool closed during start'));
          return;
        }
        this.adopt(worker);
        resolve();
      };
      const timer = setTimeout(() => fail(`no ready handshake within ${timeoutMs} ms`), timeoutMs);
      worker.on('error', onError).on('exit', onExit).on('message', onReady);
    }).finally(() => {
      this.starting--;
    });
  }

  /** A thread that passed its handshake joins the pool. */
  private adopt(worker: Worker): void {
    const slot: Slot = { worker, current: undefined };
    worker.on('message', (msg: unknown) => {
      if (isFromThread(msg)) this.onMessage(slot, msg);
    });
    worker.on('error', (err) => this.onThreadDeath(slot, `error: ${err.message}`));
    worker.on('exit', (code) => this.onThreadDeath(slot, `exit ${code}`));
    this.slots.push(slot);
  }

  /**
   * Idempotent. Rejects queued runs, cancels running ones (SIGTERM → SIGKILL), waits for them to settle, then
   * terminates every thread; each step runs even if an earlier one throws.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const p of this.queue.splice(0)) p.reject(new PipelineError('TRANSCODE_POOL_CLOSED', 'The ffmpeg pool closed.'));
      const running = this.slots.flatMap((s) => (s.current ? [s.current.settled] : []));
      for (const s of this.slots) if (s.current) s.worker.postMessage({ type: 'cancel', taskId: s.current.taskId });
      const grace = (this.o.killTimeoutMs ?? 5000) + 2000;
      await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, grace).unref())]);
      for (const s of [...this.slots]) {
        killQuietly(s.current?.pid);
        await s.worker.terminate().catch((err: unknown) => this.o.logger.error({ err: describeError(err) }, 'thread terminate failed'));
      }
    })();
    return this.closing;
  }
}
