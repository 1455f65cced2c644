import ffmpeg from 'fluent-ffmpeg';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { inputArgs } from '../media/allow-list.ts';
import { watermarkInputArgs } from '../media/watermark.ts';
import type { FfmpegPlan } from './command.ts';

// Still importable from here by the job-pipeline modules in ops/; everything else takes it from core/logger.ts.

export interface RunFfmpegOptions {
  readonly ffmpegPath: string;
  readonly plan: FfmpegPlan;
  readonly logger: Logger;
  /** Duration of the input in seconds, to turn ffmpeg's time into a percentage. */
  readonly durationSec?: number;
  /** Called with 0–100 (clamped, never decreasing). */
  readonly onProgress?: (percent: number) => void;
  /** Aborting sends SIGTERM, then SIGKILL after `killTimeoutMs`. */
  readonly signal?: AbortSignal;
  /** Default 5000 ms. */
  readonly killTimeoutMs?: number;
  /** Called once with the ffmpeg child's pid after it spawned (for supervisors). */
  readonly onSpawn?: (pid: number) => void;
}

const STDERR_TAIL_LINES = 40;
/** ffmpeg's status line: "frame=  120 fps= 60 … time=00:00:04.00 bitrate=…". */
const PROGRESS_TIME = /\btime=(\d+:\d{2}:\d{2}(?:\.\d+)?)/;

/** Decoder and demuxer complaints that, with -xerror, end the run: the source itself is damaged. */
const CORRUPT_SOURCE =
  /error while decoding|corrupt input packet|invalid data found when processing input|invalid nal unit|is not allocated|missing picture in access unit|concealing|stream ends prematurely|partial file/i;

/** Write failures on our side: whatever else ffmpeg printed on the way out, the source is not to blame. */
const OUR_WRITE_FAILED = /no space left on device|disk quota exceeded/i;

/** Turns a failed run into the right code: cancelled on request, damaged input, or our side (retryable). */
export function classifyFailure(
  stderrTail: string,
  aborted: boolean,
): 'TRANSCODE_CANCELLED' | 'TRANSCODE_SOURCE_CORRUPT' | 'TRANSCODE_FFMPEG_FAILED' {
  if (aborted) return 'TRANSCODE_CANCELLED';
  if (OUR_WRITE_FAILED.test(stderrTail)) return 'TRANSCODE_FFMPEG_FAILED';
  return CORRUPT_SOURCE.test(stderrTail) ? 'TRANSCODE_SOURCE_CORRUPT' : 'TRANSCODE_FFMPEG_FAILED';
}

/** "01:02:03.45" → 3723.45 */
export function timemarkToSeconds(mark: string): number {
  const parts = mark.split(':').map(Number);
  if (parts.some((n) => !Number.isFinite(n))) return 0;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

/**
 * The only place fluent-ffmpeg is wrapped in a Promise. On failure the error carries the full command line and the
 * stderr tail; progress is clamped to 0–100; abort escalates SIGTERM → SIGKILL.
 */
export function runFfmpeg(o: RunFfmpegOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // fluent-ffmpeg's niceness starts the child as `nice -n N ffmpeg …` (same pid once nice execs ffmpeg).
    const cmd = ffmpeg({ logger: undefined, ...(o.plan.niceness ? { niceness: o.plan.niceness } : {}) })
      .setFfmpegPath(o.ffmpegPath)
      .input(o.plan.input.path)
      .inputOptions([...inputArgs(o.plan.input), ...o.plan.inputOptions]);
    for (const img of o.plan.images ?? []) cmd.input(img.path).inputOptions(watermarkInputArgs());
    if (o.plan.complexFilter) cmd.complexFilter(o.plan.complexFilter);
    for (const out of o.plan.outputs) cmd.output(out.path).outputOptions([...out.options]);

    const tail: string[] = [];
    let commandLine = '';
    let lastPercent = 0;
    let killTimer: NodeJS.Timeout | undefined;
    let aborted = false;

    const onAbort = (): void => {
      aborted = true;
      cmd.kill('SIGTERM');
      killTimer = setTimeout(() => cmd.kill('SIGKILL'), o.killTimeoutMs ?? 5000);
      killTimer.unref();
    };
    const cleanup = (): void => {
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
    };

    cmd.on('start', (line: string) => {
      commandLine = line;
      o.logger.debug({ cmd: line }, 'ffmpeg started');
      const proc = (cmd as unknown as { ffmpegProc?: { pid?: number } }).ffmpegProc;
      if (proc?.pid !== undefined) o.onSpawn?.(proc.pid);
    });
    // Progress comes from ffmpeg's own status lines, not fluent-ffmpeg's 'progress' event: listening to that makes
    // fluent-ffmpeg run a plain ffprobe on the input, outside the media layer's allow-lists.
    cmd.on('stderr', (line: string) => {
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      const mark = PROGRESS_TIME.exec(line)?.[1];
      if (!o.onProgress || !o.durationSec || !mark) return;
      const pct = Math.max(0, Math.min(100, (timemarkToSeconds(mark) / o.durationSec) * 100));
      if (pct > lastPercent) {
        lastPercent = pct;
        o.onProgress(pct);
      }
    });
    cmd.on('end', () => {
      cleanup();
      o.onProgress?.(100);
      resolve();
    });
    cmd.on('error', (err: Error) => {
      cleanup();
      const stderrTail = tail.join('\n');
      o.logger.error({ cmd: commandLine, stderrTail, err: err.message }, 'ffmpeg failed');
      const code = classifyFailure(stderrTail, aborted);
      reject(
        new PipelineError(
          code,
          aborted ? 'ffmpeg was cancelled.' : `ffmpeg failed: ${err.message}`,
          {
            commandLine,
            stderrTail,
            aborted,
          },
          { cause: err },
        ),
      );
    });

    if (o.signal?.aborted) {
      cleanup();
      reject(new PipelineError('TRANSCODE_CANCELLED', 'ffmpeg was cancelled before it started.', { aborted: true }));
      return;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    cmd.run();
  });
}
