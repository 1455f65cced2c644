/**
 * Time to playable: from "upload finished" (the job starts with the source on disk) until the master and the
 * first segment of every rung are in storage, against the time until the whole VOD package is published, both from
 * one run of the real pipeline stage (probe → progressive transcode+package). Target: ratio ≤ 0.25 for 60 s 1080p.
 *   node --import tsx bench/time-to-playable.ts [sourceSeconds] [width] [height]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { transcodeAndPackage } from '../pipeline/package-stage.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { probeSource } from '../transcoder/probe.ts';
import { mediaInput } from '../media/allow-list.ts';

const run = promisify(execFile);

export interface TimeToPlayableOptions {
  /** Length of the generated source clip in seconds. */
  readonly sourceSeconds: number;
  readonly width: number;
  readonly height: number;
  /** Source frame rate; default 30. */
  readonly fps?: number;
  /** x264 preset of the ladder; default veryfast (the pipeline's default). */
  readonly preset?: string;
  /** ffmpeg threads per encoder; default 0 (automatic). */
  readonly threads?: number;
  /** Default `ffmpeg` / `ffprobe` from PATH. */
  readonly ffmpegPath?: string;
  readonly ffprobePath?: string;
  /** Parent of the temp directory (removed afterwards); default os.tmpdir(). */
  readonly tmpRoot?: string;
}

export interface TimeToPlayableResult {
  readonly timeToPlayableSec: number;
  readonly fullTranscodeSec: number;
  /** timeToPlayableSec / fullTranscodeSec. */
  readonly ratio: number;
  readonly rungs: number;
  readonly sourceSeconds: number;
}

/** A test-pattern source with motion and a tone, encoded fast so generation does not dominate the bench. */
async function makeSource(o: TimeToPlayableOptions, file: string): Promise<void> {
  const fps = o.fps ?? 30;
  await run(o.ffmpegPath ?? 'ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${o.width}x${o.height}:rate=${fps}:duration=${o.sourceSeconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${o.sourceSeconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '18',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    file,
  ]);
}

export async function benchTimeToPlayable(o: TimeToPlayableOptions): Promise<TimeToPlayableResult> {
  const tmp = await mkdtemp(path.join(o.tmpRoot ?? os.tmpdir(), 'ks-ttp-'));
  try {
    const source = path.join(tmp, 'source.mp4');
    await makeSource(o, source);
    const storage = new LocalDiskStorage({ root: path.join(tmp, 'published') });
    const t0 = performance.now();
    let playableAt: number | undefined;
    const probe = await probeSource(source, { ffprobePath: o.ffprobePath ?? 'ffprobe' });
    const res = await transcodeAndPackage({
      ffmpegPath: o.ffmpegPath ?? 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(source, probe.container),
      probe,
      workDir: await mkdtemp(path.join(tmp, 'work-')),
      storage,
      prefix: 'hls/bench',
      logger: pino({ level: 'warn' }),
      threads: o.threads ?? 0,
      preset: o.preset,
      skipArtwork: true,
      onPlayable: () => {
        playableAt = performance.now();
      },
    });
    const end = performance.now();
    if (playableAt === undefined) throw new Error('package never became playable');
    const timeToPlayableSec = (playableAt - t0) / 1000;
    const fullTranscodeSec = (end - t0) / 1000;
    return {
      timeToPlayableSec,
      fullTranscodeSec,
      ratio: timeToPlayableSec / fullTranscodeSec,
      rungs: res.pkg.renditions.filter((r) => r.kind === 'video').length,
      sourceSeconds: o.sourceSeconds,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [secs, w, h] = process.argv.slice(2).map(Number);
  benchTimeToPlayable({ sourceSeconds: secs || 60, width: w || 1920, height: h || 1080 }).then(
    (r) => {
      process.stdout.write(`${JSON.stringify({ bench: 'time-to-playable', ...r, target: 0.25, pass: r.ratio <= 0.25 }, null, 2)}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
