import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, appendFile, copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SourceProbe } from '../core/types.ts';
import { probeSource } from '../transcoder/probe.ts';

const run = promisify(execFile);

/**
 * A copy of a generated MP4 that no scanner has seen: the same media with a `free` box of random bytes appended (a
 * top-level box every demuxer skips). clamd caches the verdict of bytes it has scanned, so uploading one file again
 * would time a cache hit; every real upload is new bytes. The caller removes the copy.
 */
export async function freshCopy(file: string): Promise<string> {
  const out = `${file}.${randomBytes(6).toString('hex')}.mp4`;
  await copyFile(file, out);
  const free = Buffer.alloc(8 + 16);
  free.writeUInt32BE(free.length, 0);
  free.write('free', 4, 'latin1');
  randomBytes(16).copy(free, 8);
  await appendFile(out, free);
  return out;
}

/**
 * Generated content kinds. Flat test patterns flatter an encoder, so the suite leads with content x264 has to work
 * for: `grain` = moving testsrc2 under temporal film-grain noise (every frame differs everywhere), `fractal` = a
 * zooming Mandelbrot (fine detail plus constant motion), `life` = Conway's life (sharp edges, chaotic motion);
 * `bars` (rgbtestsrc) is the easy reference.
 */
export type ContentKind = 'grain' | 'fractal' | 'life' | 'bars';

export interface SourceSpec {
  readonly content: ContentKind;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly durationSec: number;
  /**
   * Encode at this video bitrate (kb/s), as a phone does (≈ 16 Mb/s at 1080p30), instead of at constant quality:
   * grain at crf 20 comes out at > 100 Mb/s, bigger and costlier to decode than any real upload.
   */
  readonly bitrateKbps?: number;
}

export interface GeneratedSource {
  readonly id: string;
  readonly spec: SourceSpec;
  readonly path: string;
  readonly probe: SourceProbe;
}

/** `1080p30-grain-4s`: readable in tables and unique per spec. */
export function sourceId(s: SourceSpec): string {
  return `${s.height}p${s.fps}-${s.content}-${s.durationSec}s${s.bitrateKbps ? `-${s.bitrateKbps}k` : ''}`;
}

/** The lavfi video graph of a content kind at the requested size and rate. */
export function lavfiVideo(s: SourceSpec): string {
  const size = `${s.width}x${s.height}`;
  const d = s.durationSec;
  switch (s.content) {
    case 'grain':
      // allf=t+u: temporal, uniform noise, i.e. grain that changes every frame like a phone sensor in a dim room.
      return `testsrc2=size=${size}:rate=${s.fps}:duration=${d},noise=alls=18:allf=t+u`;
    case 'fractal': {
      // The fractal is costly to render at 4K; render at ≤ 960 px wide and scale up (detail stays, generation is fast).
      const w = Math.min(s.width, 960);
      const h = Math.round((w * s.height) / s.width / 2) * 2;
      return `mandelbrot=size=${w}x${h}:rate=${s.fps},trim=duration=${d},scale=${s.width}:${s.height},noise=alls=6:allf=t`;
    }
    case 'life':
      return `life=size=${size}:rate=${s.fps}:mold=10:ratio=0.2:death_color=#202020:life_color=#e0c000,trim=duration=${d}`;
    case 'bars':
      return `rgbtestsrc=size=${size}:rate=${s.fps}:duration=${d}`;
  }
}

/**
 * Encodes the source as a phone would deliver it: H.264 High yuv420p at a generous quality, AAC stereo 48 kHz, MP4.
 * ultrafast keeps generation quick; crf 20 keeps the grain, so decoding costs what a real upload costs.
 */
export function sourceArgs(s: SourceSpec, out: string): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    lavfiVideo(s),
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${s.durationSec}`,
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-t',
    String(s.durationSec),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    ...(s.bitrateKbps
      ? ['-b:v', `${s.bitrateKbps}k`, '-maxrate', `${s.bitrateKbps}k`, '-bufsize', `${s.bitrateKbps * 2}k`]
      : ['-crf', '20']),
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(s.fps * 2),
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-ac',
    '2',
    '-movflags',
    '+faststart',
    out,
  ];
}

/** Generates (or reuses from `dir`) every source and probes it with the pipeline's own probe. */
export async function prepareSources(o: {
  specs: readonly SourceSpec[];
  dir: string;
  ffmpegPath: string;
  ffprobePath: string;
  onGenerate?: (id: string) => void;
}): Promise<Map<string, GeneratedSource>> {
  await mkdir(o.dir, { recursive: true });
  const out = new Map<string, GeneratedSource>();
  for (const spec of o.specs) {
    const id = sourceId(spec);
    const file = path.join(o.dir, `${id}.mp4`);
    const exists = await access(file).then(
      () => true,
      () => false,
    );
    if (!exists) {
      o.onGenerate?.(id);
      // Write-then-rename so an interrupted run never leaves a truncated source to be reused.
      const tmp = `${file}.part.mp4`;
      await run(o.ffmpegPath, sourceArgs(spec, tmp), { maxBuffer: 16 * 1024 * 1024 });
      await rename(tmp, file);
    }
    out.set(id, { id, spec, path: file, probe: await probeSource(file, { ffprobePath: o.ffprobePath }) });
  }
  return out;
}
