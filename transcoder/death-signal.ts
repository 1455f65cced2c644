import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface DeathSignalWrapper {
  /** Executable to use as ffmpegPath: runs the real ffmpeg (same pid) with a parent-death signal set. */
  readonly ffmpegPath: string;
  /** Removes the wrapper's temp dir; idempotent. */
  dispose(): Promise<void>;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Without this, a worker process that is SIGKILLed leaves its ffmpeg running as an orphan: ffmpeg ignores SIGPIPE, so
 * losing its stderr reader does not stop it, and it keeps burning CPU and writing into a work dir nobody owns.
 * util-linux `setpriv --pdeathsig KILL` makes the kernel SIGKILL ffmpeg when the thread that spawned it dies (Linux
 * prctl PR_SET_PDEATHSIG), which also covers a pool thread that is terminated. fluent-ffmpeg runs its capability probes
 * (`-formats`, `-encoders`) through the same path, so the wrapper is a tiny script that execs (same pid, so kill() and
 * progress parsing still reach ffmpeg) rather than extra arguments.
 */
export async function createDeathSignalWrapper(ffmpegPath: string, setprivPath: string): Promise<DeathSignalWrapper> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-ffmpeg-'));
  const file = path.join(dir, 'ffmpeg');
  await writeFile(file, `#!/bin/sh\nexec ${shQuote(setprivPath)} --pdeathsig KILL -- ${shQuote(ffmpegPath)} "$@"\n`);
  await chmod(file, 0o755);
  let disposed: Promise<void> | undefined;
  return { ffmpegPath: file, dispose: () => (disposed ??= rm(dir, { recursive: true, force: true })) };
}
