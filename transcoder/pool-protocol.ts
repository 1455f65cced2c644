/**
 * Messages between FfmpegPool (main thread) and pool-thread.ts, as discriminated unions on `type` (after BullMQ's
 * child-pool protocol). Everything here is structured-clone safe: plain data, no class instances.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { FfmpegPlan } from './command.ts';

/** What a thread receives once, as workerData. */
export interface ThreadInit {
  /** The ffmpeg to run; the pool passes its death-signal wrapper when it has one (see death-signal.ts). */
  readonly ffmpegPath: string;
}

/** One ffmpeg run. */
export interface PoolTask {
  readonly plan: FfmpegPlan;
  /** Source duration in seconds, to turn ffmpeg's time into 0–100. */
  readonly durationSec: number;
  /** SIGTERM → SIGKILL grace period in ms. */
  readonly killTimeoutMs: number;
}

export type ToThread =
  { readonly type: 'run'; readonly taskId: number; readonly task: PoolTask } | { readonly type: 'cancel'; readonly taskId: number };

/** A PipelineError flattened for postMessage; the pool rebuilds a PipelineError from it. */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly context: Readonly<Record<string, unknown>>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type FromThread =
  /** Start handshake: the thread loaded its modules and listens for tasks. */
  | { readonly type: 'ready' }
  | { readonly type: 'spawned'; readonly taskId: number; readonly pid: number }
  | { readonly type: 'progress'; readonly taskId: number; readonly percent: number }
  | { readonly type: 'done'; readonly taskId: number }
  | { readonly type: 'failed'; readonly taskId: number; readonly error: SerializedError }
  | { readonly type: 'log'; readonly level: LogLevel; readonly obj: Record<string, unknown>; readonly msg: string };

/** Narrows an unknown message from a thread (it crossed a boundary, so it is checked, not cast). */
export function isFromThread(m: unknown): m is FromThread {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'ready' || t === 'spawned' || t === 'progress' || t === 'done' || t === 'failed' || t === 'log';
}

export function isToThread(m: unknown): m is ToThread {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return (t === 'run' || t === 'cancel') && typeof (m as { taskId?: unknown }).taskId === 'number';
}
