/**
 * Worker-thread entry of FfmpegPool: supervises one ffmpeg child at a time. Not exported from any barrel; pool.ts
 * starts `pool-thread-boot.mjs`, which registers tsx in the thread and imports this file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, isPipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { FromThread, LogLevel, SerializedError, ThreadInit, ToThread } from './pool-protocol.ts';
import { isToThread } from './pool-protocol.ts';
import { runFfmpeg } from './run-ffmpeg.ts';

const port = parentPort;
if (!port) throw new Error('pool-thread.ts must run as a worker thread');
const data: unknown = workerData;
if (typeof data !== 'object' || data === null || typeof (data as { ffmpegPath?: unknown }).ffmpegPath !== 'string') {
  throw new Error('pool-thread.ts needs workerData { ffmpegPath: string }');
}
const init = data as ThreadInit;
const send = (m: FromThread): void => port.postMessage(m);

/** Logs travel to the main thread's pino logger, so a thread needs no logger of its own. */
const log =
  (level: LogLevel) =>
  (obj: object, msg?: string): void =>
    send({ type: 'log', level, obj: { ...(obj as Record<string, unknown>) }, msg: msg ?? '' });
const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const running = new Map<number, AbortController>();

function serialize(err: unknown): SerializedError {
  if (isPipelineError(err)) return { code: err.code, message: err.message, context: { ...err.context } };
  return { code: 'TRANSCODE_FFMPEG_FAILED', message: describeError(err), context: {} };
}

async function run(m: Extract<ToThread, { type: 'run' }>): Promise<void> {
  const ac = new AbortController();
  running.set(m.taskId, ac);
  try {
    await runFfmpeg({
      ffmpegPath: init.ffmpegPath,
      plan: m.task.plan,
      logger,
      durationSec: m.task.durationSec,
      killTimeoutMs: m.task.killTimeoutMs,
      signal: ac.signal,
      onSpawn: (pid) => send({ type: 'spawned', taskId: m.taskId, pid }),
      onProgress: (percent) => send({ type: 'progress', taskId: m.taskId, percent }),
    });
    send({ type: 'done', taskId: m.taskId });
  } catch (err) {
    send({ type: 'failed', taskId: m.taskId, error: serialize(err) });
  } finally {
    running.delete(m.taskId);
  }
}

port.on('message', (m: unknown) => {
  if (!isToThread(m)) return;
  if (m.type === 'cancel') running.get(m.taskId)?.abort();
  else void run(m);
});
send({ type: 'ready' });
