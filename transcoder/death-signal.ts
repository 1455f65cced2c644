import { createHash, randomBytes } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Returns an executable to use as ffmpegPath that runs the real ffmpeg with a parent-death signal.
 *
 * Without it, a worker process that is SIGKILLed leaves its ffmpeg running as an orphan: ffmpeg ignores SIGPIPE, so
 * losing its stderr reader does not stop it, and it keeps burning CPU and writing into a work dir nobody owns.
 * util-linux `setpriv --pdeathsig KILL` makes the kernel SIGKILL ffmpeg when the thread that spawned it dies (Linux
 * prctl PR_SET_PDEATHSIG), which also covers a pool thread that is terminated. fluent-ffmpeg runs its capability probes
 * (`-formats`, `-encoders`) through the same path, so the wrapper is a tiny script that execs (same pid, so kill() and
 * progress parsing still reach ffmpeg) rather than extra arguments.
 *
 * The script's name is a hash of its content and it is never deleted: a SIGKILLed process cannot clean up after
 * itself, so a per-process temp file would leak on exactly the crash this exists for. It is written atomically
 * (temp file + rename), so concurrent workers never run a half-written script.
 */
export async function deathSignalWrapper(ffmpegPath: string, setprivPath: string): Promise<string> {
  const script = `#!/bin/sh\nexec ${shQuote(setprivPath)} --pdeathsig KILL -- ${shQuote(ffmpegPath)} "$@"\n`;
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `ks-ffmpeg-pdeathsig-${hash}.sh`);
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, script, { mode: 0o755 });
  await chmod(temp, 0o755);
  await rename(temp, file);
  return file;
}
