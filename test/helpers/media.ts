import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClipOptions {
  readonly out: string;
  readonly durationSec?: number;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly audio?: boolean;
  /** Extra output args (metadata tags, codecs) placed before the output path. */
  readonly extraArgs?: readonly string[];
}

/** Runs ffmpeg with the preamble every generated fixture shares: quiet, and overwriting the output. */
export async function ffmpegQuiet(args: readonly string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** Generates a test clip with moving content (testsrc2) and a tone, H.264/AAC in MP4 by default. */
export async function makeClip(o: ClipOptions): Promise<string> {
  const d = o.durationSec ?? 4;
  const size = `${o.width ?? 640}x${o.height ?? 360}`;
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${o.fps ?? 30}:duration=${d}`];
  if (o.audio ?? true) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${d}`);
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
  if (o.audio ?? true) args.push('-c:a', 'aac', '-b:a', '96k');
  args.push(...(o.extraArgs ?? []), o.out);
  await run('ffmpeg', args);
  return o.out;
}

/** Source encode settings whose IDRs sit every 2 s exactly, as the transcoder's quick path (top rung copied) requires. */
export const ALIGNED_GOP: readonly string[] = [
  '-g',
  '60',
  '-keyint_min',
  '60',
  '-sc_threshold',
  '0',
  '-b:v',
  '600k',
  '-maxrate',
  '800k',
  '-bufsize',
  '800k',
  '-ac',
  '2',
  '-preset',
  'fast',
  '-bf',
  '3',
];
