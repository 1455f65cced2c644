import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PipelineError } from '../core/errors.ts';
import { inputArgs } from './allow-list.ts';

const execFileAsync = promisify(execFile);

export interface ProgressiveRemuxOptions {
  readonly ffmpegPath: string;
  /** A fragmented MP4 of the video rendition: its init segment followed by its media segments. */
  readonly videoFile: string;
  /** The same for the audio rendition; absent for a silent video. */
  readonly audioFile?: string;
  /** Where the progressive MP4 is written. */
  readonly out: string;
  /** Kill ffmpeg after this many ms; default 10 minutes (stream copy is disk-bound). */
  readonly timeoutMs?: number;
}

/**
 * One progressive MP4 from fragmented renditions, without re-encoding: `-c copy` keeps the published bits,
 * `+faststart` moves the index to the front so a player (or a download manager with Range) can start before the end,
 * and `-map_metadata -1` / `+bitexact` add nothing beyond the media. The inputs are our own package, but they are
 * opened through the media layer's allow-lists all the same (file protocol, mov demuxer forced, no data references).
 */
export async function remuxToProgressive(o: ProgressiveRemuxOptions): Promise<void> {
  const inputs = [o.videoFile, ...(o.audioFile ? [o.audioFile] : [])].flatMap((f) => [...inputArgs({ demuxer: 'mov' }), '-i', f]);
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...inputs,
    '-map',
    '0:v:0',
    ...(o.audioFile ? ['-map', '1:a:0'] : []),
    '-c',
    'copy',
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    o.out,
  ];
  try {
    await execFileAsync(o.ffmpegPath, args, { timeout: o.timeoutMs ?? 600_000, maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    throw new PipelineError(
      'PACKAGE_DOWNLOAD_FAILED',
      'ffmpeg could not remux the segments.',
      { commandLine: [o.ffmpegPath, ...args].join(' '), stderrTail: stderr.slice(-2000) },
      { cause: err },
    );
  }
}
