import { UnrecoverableError } from 'bullmq';
import type { PreparedMaster } from './prepare.ts';
import { isTerminalIngestError } from './prepare.ts';

/**
 * The scan's and the strip's verdicts as a gate the transcode runs behind. The ladder starts while clamd is still
 * reading the upload and the strip is still writing the master (ladder-source.ts; both cost far less than the encode),
 * but nothing leaves the worker before `cleared`: the packager's first write to storage, the archive copy and the
 * `ready` row all wait for it. A bad verdict aborts `signal`, which stops ffmpeg; the job then fails with the verdict,
 * not the cancel.
 */
export interface ScanGate {
  /** Resolves when the scan cleared the upload; rejects with the verdict (terminal → UnrecoverableError) or its error. */
  readonly cleared: Promise<void>;
  /** The job's own signal, also aborted by a bad verdict. */
  readonly signal: AbortSignal;
  /** True once the verdict came back bad: a cancel seen after that is the gate's doing. */
  readonly closed: () => boolean;
}

/** An upload's verdict (infected, invalid) as the error that tells BullMQ not to retry: retrying cannot change it. */
export function finalIfVerdict(err: unknown): unknown {
  return isTerminalIngestError(err) ? new UnrecoverableError(err.code) : err;
}

export function scanGate(prepared: PreparedMaster, outer: AbortSignal | undefined): ScanGate {
  const stop = new AbortController();
  const cleared = prepared.cleared.catch((err: unknown) => {
    stop.abort();
    throw finalIfVerdict(err);
  });
  cleared.catch(() => undefined); // every path awaits it; this keeps a rejection nobody reached yet quiet
  return {
    cleared,
    signal: outer ? AbortSignal.any([outer, stop.signal]) : stop.signal,
    closed: () => stop.signal.aborted,
  };
}
