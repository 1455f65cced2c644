import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { PipelineError } from '../core/errors.ts';

const execFileAsync = promisify(execFile);

export interface FfmpegBinaries {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** First line of `ffmpeg -version`, for logs and benchmark reports. */
  readonly version: string;
  /** util-linux setpriv with --pdeathsig (Linux), so ffmpeg dies with its worker; undefined elsewhere. */
  readonly setprivPath: string | undefined;
}

/** setpriv exists on every Debian (util-linux is essential) but not on macOS; without it ffmpeg runs unwrapped. */
async function findSetpriv(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('setpriv', ['--help'], { timeout: 10_000 });
    return stdout.includes('--pdeathsig') ? 'setpriv' : undefined;
  } catch {
    return undefined;
  }
}

export interface ResolveFfmpegOptions {
  /** Explicit ffmpeg binary (FFMPEG_PATH); wins over everything else. */
  readonly ffmpegPath?: string | undefined;
  /** Explicit ffprobe binary (FFPROBE_PATH). */
  readonly ffprobePath?: string | undefined;
}

/** `ffmpeg-static` is optional: its installer downloads a binary and fails offline, leaving no package or no file. */
function ffmpegStaticPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const p: unknown = require('ffmpeg-static');
    return typeof p === 'string' ? p : undefined;
  } catch {
    // Not installed: an expected state, the system binary is the fallback.
    return undefined;
  }
}

async function versionOf(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(bin, ['-version'], { timeout: 10_000 });
    return stdout.split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

async function firstWorking(candidates: ReadonlyArray<string | undefined>): Promise<{ bin: string; version: string } | undefined> {
  for (const bin of candidates) {
    if (!bin) continue;
    const version = await versionOf(bin);
    if (version) return { bin, version };
  }
  return undefined;
}

/**
 * Order: FFMPEG_PATH/FFPROBE_PATH → ffmpeg-static (if its install succeeded) → `ffmpeg`/`ffprobe` on PATH.
 * An explicitly configured path that does not run is an error, not a silent fallback.
 */
export async function resolveFfmpeg(opts: ResolveFfmpegOptions = {}): Promise<FfmpegBinaries> {
  const ffmpeg = opts.ffmpegPath ? await firstWorking([opts.ffmpegPath]) : await firstWorking([ffmpegStaticPath(), 'ffmpeg']);
  const ffprobe = await firstWorking([opts.ffprobePath ?? 'ffprobe']);
  if (!ffmpeg || !ffprobe) {
    const missing = !ffmpeg ? `ffmpeg (${opts.ffmpegPath ?? 'ffmpeg-static, PATH'})` : `ffprobe (${opts.ffprobePath ?? 'PATH'})`;
    throw new PipelineError('OPS_FFMPEG_NOT_FOUND', `No working ${missing} found.`, { tried: opts });
  }
  return { ffmpegPath: ffmpeg.bin, ffprobePath: ffprobe.bin, version: ffmpeg.version, setprivPath: await findSetpriv() };
}
