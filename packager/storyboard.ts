import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MediaInput } from '../media/allow-list.ts';
import { runFfmpeg } from '../transcoder/run-ffmpeg.ts';

export interface StoryboardOptions {
  readonly ffmpegPath: string;
  /** The master as the media layer vetted it. */
  readonly source: MediaInput;
  readonly durationSec: number;
  /** Directory of the package; the sprite and VTT go to `<outDir>/storyboard/`. */
  readonly outDir: string;
  readonly logger: Logger;
  /** Thumbnail width in px; default 160. */
  readonly tileWidth?: number;
  /** Most thumbnails in one sprite; the interval grows for long videos to stay under it. Default 100. */
  readonly maxTiles?: number;
  /** Tiles per sprite row; default 10. */
  readonly columns?: number;
}

export interface StoryboardResult {
  /** Paths relative to outDir. */
  readonly vttFile: string;
  readonly spriteFile: string;
  readonly spriteWidth: number;
  readonly spriteHeight: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly intervalSec: number;
  readonly tiles: number;
}

/** "00:01:02.500" as WebVTT wants it. */
export function vttTime(sec: number): string {
  const ms = Math.round(sec * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}

export interface Tile {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** A WebVTT track whose cues point into the sprite with media fragments (`sprite.jpg#xywh=x,y,w,h`). */
export function renderStoryboardVtt(sprite: string, tiles: readonly Tile[], intervalSec: number, durationSec: number): string {
  const cues = tiles.map((t, i) => {
    const start = i * intervalSec;
    const end = Math.min(durationSec, (i + 1) * intervalSec);
    return `${vttTime(start)} --> ${vttTime(Math.max(end, start + 0.001))}\n${sprite}#xywh=${t.x},${t.y},${t.w},${t.h}`;
  });
  return ['WEBVTT', '', ...cues.map((c) => `${c}\n`)].join('\n');
}

/** Extracts one thumbnail per interval with ffmpeg and composes them into one sprite sheet with sharp. */
export async function makeStoryboard(o: StoryboardOptions): Promise<StoryboardResult> {
  const tileWidth = o.tileWidth ?? 160;
  const maxTiles = o.maxTiles ?? 100;
  const intervalSec = Math.max(1, Math.ceil(o.durationSec / maxTiles));
  const dir = path.join(o.outDir, 'storyboard');
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(path.join(o.outDir, '.storyboard-'));
  try {
    await runFfmpeg({
      ffmpegPath: o.ffmpegPath,
      logger: o.logger,
      // fps=1/interval emits the frame nearest to each multiple of the interval; scale keeps the aspect, even height.
      plan: {
        input: o.source,
        inputOptions: ['-hide_banner', '-nostdin'],
        complexFilter: undefined,
        outputs: [{ path: path.join(tmp, 'tile_%05d.png'), options: ['-an', '-vf', `fps=1/${intervalSec},scale=${tileWidth}:-2`, '-y'] }],
      },
    });
    const expected = Math.max(1, Math.ceil(o.durationSec / intervalSec));
    const frames = (await readdir(tmp))
      .filter((f) => f.endsWith('.png'))
      .sort()
      .slice(0, expected);
    if (frames.length === 0)
      throw new PipelineError('PACKAGE_ARTWORK_FAILED', 'ffmpeg extracted no storyboard frames.', { source: o.source.path });
    const first = await sharp(path.join(tmp, frames[0]!)).metadata();
    const tileHeight = first.height ?? Math.round((tileWidth * 9) / 16);
    const columns = Math.min(o.columns ?? 10, frames.length);
    const rows = Math.ceil(frames.length / columns);
    const tiles: Tile[] = frames.map((_, i) => ({
      x: (i % columns) * tileWidth,
      y: Math.floor(i / columns) * tileHeight,
      w: tileWidth,
      h: tileHeight,
    }));
    const spriteWidth = columns * tileWidth;
    const spriteHeight = rows * tileHeight;
    const spriteFile = 'storyboard/sprite.jpg';
    await sharp({ create: { width: spriteWidth, height: spriteHeight, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite(frames.map((f, i) => ({ input: path.join(tmp, f), left: tiles[i]!.x, top: tiles[i]!.y })))
      .jpeg({ quality: 70, mozjpeg: true })
      .toFile(path.join(o.outDir, spriteFile));
    const vttFile = 'storyboard/storyboard.vtt';
    await writeFile(path.join(o.outDir, vttFile), renderStoryboardVtt('sprite.jpg', tiles, intervalSec, o.durationSec));
    return { vttFile, spriteFile, spriteWidth, spriteHeight, tileWidth, tileHeight, intervalSec, tiles: frames.length };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
