import { spawn } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/logger.ts';
import type { LadderRung } from '../core/types.ts';
import { transcodeLadder } from '../transcoder/transcode.ts';
import type { GeneratedSource } from './sources.ts';
import { mediaInput } from '../media/allow-list.ts';

/** One way of producing the same ladder from the same source; returns wall seconds. */
export interface LadderJob {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  readonly source: GeneratedSource;
  readonly rungs: readonly LadderRung[];
  readonly outDir: string;
  readonly preset: string;
  /** x264 threads per encoder; 0 = x264 decides. */
  readonly threads: number;
}
export type LadderMethod = (job: LadderJob) => Promise<number>;

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/**
 * What the worker runs today: transcodeLadder (buildLadderPlan → runFfmpeg via fluent-ffmpeg) on the probed source.
 * The probe is done once per source beforehand, as the references get the ladder from it too: all three are timed
 * from spawn to exit of the encode only.
 */
export const pipelineMethod: LadderMethod = async (j) => {
  const t0 = performance.now();
  await transcodeLadder({
    ffmpegPath: j.ffmpegPath,
    ffprobePath: 'ffprobe',
    source: mediaInput(j.source.path, j.source.probe.container),
    probe: j.source.probe,
    outDir: j.outDir,
    logger: silent,
    preset: j.preset,
    threads: j.threads,
    rungs: j.rungs,
    // The hand-written references re-encode every rung; the quick path would make the comparison unequal.
    allowRemux: false,
  });
  return (performance.now() - t0) / 1000;
};

/**
 * fluent-ffmpeg runs `ffmpeg -formats` and `ffmpeg -encoders` before its first command and caches them per process.
 * A long-running worker pays that once at its first job; warming here keeps it out of the first measured repeat.
 */
export async function warmPipeline(ffmpegPath: string): Promise<void> {
  const cmd = ffmpeg().setFfmpegPath(ffmpegPath);
  await new Promise<void>((resolve, reject) => cmd.availableFormats((err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve, reject) => cmd.availableEncoders((err) => (err ? reject(err) : resolve())));
}

/**
 * Implementations of "the pipeline" the scenarios can time, chosen with `--runner` (BenchConfig.runner).
 * The worker-thread pool plugs in here as `pool: poolMethod` (submit the job, await its result).
 */
export const PIPELINE_RUNNERS: Readonly<Record<string, LadderMethod>> = { pipeline: pipelineMethod };

/** The runner named in the config; unknown names are an error listing the known ones. */
export function pipelineRunner(name: string): LadderMethod {
  const m = PIPELINE_RUNNERS[name];
  if (!m) throw new Error(`Unknown runner ${name}; known: ${Object.keys(PIPELINE_RUNNERS).join(', ')}`);
  return m;
}

/** Runs ffmpeg directly (no wrapper) and resolves with wall seconds; rejects with the stderr tail. */
export function timeFfmpeg(ffmpegPath: string, args: readonly string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-3000);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve((performance.now() - t0) / 1000);
      else reject(new Error(`ffmpeg exited ${code}: ${tail}`));
    });
  });
}

/** HLS fMP4 muxer options, written by hand for the references (same segment length and layout as the pipeline). */
function hls(dir: string): string[] {
  return [
    '-f',
    'hls',
    '-hls_time',
    '6',
    '-hls_playlist_type',
    'vod',
    '-hls_segment_type',
    'fmp4',
    '-hls_fmp4_init_filename',
    'init.mp4',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_filename',
    path.join(dir, 'seg_%05d.m4s'),
    path.join(dir, 'index.m3u8'),
  ];
}

/** The same x264 rate control and 2 s closed GOPs the pipeline uses, so outputs are comparable. */
function x264(r: LadderRung, preset: string, threads: number): string[] {
  const gop = String(Math.max(1, Math.round(r.fps * 2)));
  return [
    '-c:v',
    'libx264',
    '-preset',
    preset,
    '-threads',
    String(threads),
    '-profile:v',
    'high',
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    String(r.videoBitrate),
    '-maxrate',
    String(r.maxBitrate),
    '-bufsize',
    String(r.maxBitrate * 2),
    '-g',
    gop,
    '-keyint_min',
    gop,
    '-sc_threshold',
    '0',
    '-x264-params',
    'open-gop=0',
  ];
}

const AUDIO = ['-c:a', 'aac', '-b:a', '128000', '-ac', '2', '-ar', '48000'];

async function dirs(outDir: string, names: readonly string[]): Promise<string[]> {
  const all = names.map((n) => path.join(outDir, n));
  await Promise.all(all.map((d) => mkdir(d, { recursive: true })));
  return all;
}

/** Reference (a): the best single command a person would write by hand — one decode, split, N encodes, one AAC. */
export function handSingleArgs(j: LadderJob, outDirs: readonly string[], audioDir: string | undefined): string[] {
  const fps = j.rungs[0]?.fps ?? 30;
  const labels = j.rungs.map((_, i) => `[s${i}]`).join('');
  const graph = [
    `[0:v:0]fps=${fps},format=yuv420p,split=${j.rungs.length}${labels}`,
    ...j.rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height},setsar=1[o${i}]`),
  ].join(';');
  const args = ['-hide_banner', '-nostdin', '-y', '-i', j.source.path, '-filter_complex', graph];
  j.rungs.forEach((r, i) => args.push('-map', `[o${i}]`, '-an', ...x264(r, j.preset, j.threads), ...hls(outDirs[i]!)));
  if (audioDir) args.push('-map', '0:a:0', '-vn', ...AUDIO, ...hls(audioDir));
  return args;
}

export const handSingleMethod: LadderMethod = async (j) => {
  const out = await dirs(j.outDir, [...j.rungs.map((_, i) => `v${i}`), 'audio']);
  const hasAudio = j.source.probe.audio !== null;
  return timeFfmpeg(j.ffmpegPath, handSingleArgs(j, out.slice(0, -1), hasAudio ? out.at(-1) : undefined));
};

/** Reference (b): PeerTube-style VOD — one ffmpeg per rung (each decodes the source), run one after another. */
export function perRungArgs(j: LadderJob, r: LadderRung, dir: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-i',
    j.source.path,
    '-map',
    '0:v:0',
    '-an',
    '-vf',
    `fps=${r.fps},format=yuv420p,scale=${r.width}:${r.height},setsar=1`,
    ...x264(r, j.preset, j.threads),
    ...hls(dir),
  ];
}

export const perRungMethod: LadderMethod = async (j) => {
  const out = await dirs(j.outDir, [...j.rungs.map((_, i) => `v${i}`), 'audio']);
  let total = 0;
  for (const [i, r] of j.rungs.entries()) total += await timeFfmpeg(j.ffmpegPath, perRungArgs(j, r, out[i]!));
  if (j.source.probe.audio) {
    total += await timeFfmpeg(j.ffmpegPath, [
      '-hide_banner',
      '-nostdin',
      '-y',
      '-i',
      j.source.path,
      '-map',
      '0:a:0',
      '-vn',
      ...AUDIO,
      ...hls(out.at(-1)!),
    ]);
  }
  return total;
};
