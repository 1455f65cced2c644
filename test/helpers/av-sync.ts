import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegQuiet } from './media.ts';

const run = promisify(execFile);

export interface FlashBeepOptions {
  readonly out: string;
  readonly fps?: number;
  /** Source IDRs every 2 s exactly (the transcoder's quick path then copies the top rung and the audio). */
  readonly alignedGop?: boolean;
  /** When both events happen; default 3 s. */
  readonly atSec?: number;
  /** Clip length; default 6 s (one HLS segment: sync is decided by edit lists and priming, not by the length). */
  readonly durationSec?: number;
}

/**
 * A black clip with a white flash and a 1 kHz beep that both start at the same instant, 6 s long, H.264 with
 * B-frames and AAC: the two things whose decoded times tell whether audio and video are in sync.
 */
export async function makeFlashBeepClip(o: FlashBeepOptions): Promise<string> {
  const fps = o.fps ?? 30;
  const at = o.atSec ?? 3;
  const d = o.durationSec ?? 6;
  const gop = o.alignedGop
    ? ['-g', String(fps * 2), '-keyint_min', String(fps * 2), '-sc_threshold', '0', '-b:v', '600k', '-maxrate', '800k', '-bufsize', '800k']
    : [];
  await ffmpegQuiet([
    '-f',
    'lavfi',
    '-i',
    `color=black:size=640x360:rate=${fps}:duration=${d},geq=lum='if(between(T,${at - 0.001},${at + 0.1}),235,16)':cb=128:cr=128`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='if(between(t,${at},${at + 0.2}),0.8*sin(2*PI*1000*t),0)':s=48000:d=${d}`,
    '-c:v',
    'libx264',
    '-preset',
    'fast',
    '-bf',
    '3',
    '-pix_fmt',
    'yuv420p',
    ...gop,
    '-c:a',
    'aac',
    '-ac',
    '2',
    '-b:a',
    '128k',
    o.out,
  ]);
  return o.out;
}

/** Per-frame metadata that ffmpeg's `metadata`/`ametadata` filters print: pts_time and the value of one key. */
async function printedValues(input: string, map: string, filter: string, key: string): Promise<Array<{ t: number; v: number }>> {
  const dir = await mkdtemp(path.join(path.dirname(input), '.avsync-'));
  const file = path.join(dir, 'values.txt');
  try {
    const isAudio = map.includes(':a');
    const chain = `${filter},${isAudio ? 'ametadata' : 'metadata'}=print:key=${key}:file=${file}`;
    // -copyts: the decoded times as the files carry them, so the two inputs share one clock.
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-copyts',
      '-i',
      input,
      '-map',
      map,
      isAudio ? '-af' : '-vf',
      chain,
      '-f',
      'null',
      '-',
    ]);
    const out: Array<{ t: number; v: number }> = [];
    let t = NaN;
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const pts = /pts_time:([-\d.]+)/.exec(line);
      if (pts) t = Number(pts[1]);
      const val = line.startsWith(`${key}=`) ? Number(line.slice(key.length + 1)) : NaN;
      if (!Number.isNaN(val)) out.push({ t, v: val });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Time of the first decoded frame brighter than mid-grey. */
export async function flashTime(input: string, map = '0:v:0'): Promise<number> {
  const frames = await printedValues(input, map, 'signalstats', 'lavfi.signalstats.YAVG');
  const hit = frames.find((f) => f.v > 100);
  if (!hit) throw new Error(`no flash in ${input}`);
  return hit.t;
}

/** Start of the first 1 ms of decoded audio louder than -20 dBFS. */
export async function beepTime(input: string, map = '0:a:0'): Promise<number> {
  const chunks = await printedValues(input, map, 'asetnsamples=n=48:p=0,astats=metadata=1:reset=1', 'lavfi.astats.Overall.Peak_level');
  const hit = chunks.find((c) => c.v > -20);
  if (!hit) throw new Error(`no beep in ${input}`);
  return hit.t;
}

/** Decoded beep minus decoded flash, in seconds: positive when the sound comes after the picture. */
export async function avOffset(videoInput: string, audioInput = videoInput): Promise<number> {
  return (await beepTime(audioInput)) - (await flashTime(videoInput));
}
