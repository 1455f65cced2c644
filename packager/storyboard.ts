import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PipelineError } from '../core/errors.ts';
import type { Still } from '../transcoder/stills.ts';

/** Thumbnail width in px: big enough to recognise a scene over the seek bar, small enough for 100 in one sprite. */
export const TILE_WIDTH = 160;
/** Most thumbnails in one sprite; the interval grows for long videos to stay under it (one image, one request). */
const MAX_TILES = 100;
/** Tiles per sprite row. */
const COLUMNS = 10;

/** Seconds between thumbnails: one a second, longer for videos over MAX_TILES seconds. */
export function storyboardInterval(durationSec: number): number {
  return Math.max(1, Math.ceil(durationSec / MAX_TILES));
}

/** How many thumbnails a video of `durationSec` gets at `intervalSec`: one per started interval. */
export function storyboardTiles(durationSec: number, intervalSec: number): number {
  return Math.max(1, Math.ceil(durationSec / intervalSec));
}

export interface StoryboardOptions {
  /** The thumbnails in time order, all TILE_WIDTH wide and of one height; tile k shows the time k × intervalSec. */
  readonly tiles: readonly Still[];
  readonly durationSec: number;
  readonly intervalSec: number;
  /** Directory of the package; the sprite and VTT go to `<outDir>/storyboard/`. */
  readonly outDir: string;
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

/**
 * A WebVTT track whose cues point into the sprite with media fragments (`sprite.jpg#xywh=x,y,w,h`). The last cue runs
 * to the end of the video, so a seek anywhere finds a thumbnail even when the decode ended a frame before the
 * container's duration and its last interval got no tile.
 */
export function renderStoryboardVtt(sprite: string, tiles: readonly Tile[], intervalSec: number, durationSec: number): string {
  const cues = tiles.map((t, i) => {
    const start = i * intervalSec;
    const end = i === tiles.length - 1 ? durationSec : Math.min(durationSec, (i + 1) * intervalSec);
    return `${vttTime(start)} --> ${vttTime(Math.max(end, start + 0.001))}\n${sprite}#xywh=${t.x},${t.y},${t.w},${t.h}`;
  });
  return ['WEBVTT', '', ...cues.map((c) => `${c}\n`)].join('\n');
}

/** Composes the thumbnails into one sprite sheet (sharp) and writes the VTT that maps each interval to its tile. */
export async function composeStoryboard(o: StoryboardOptions): Promise<StoryboardResult> {
  const first = o.tiles[0];
  if (!first) throw new PipelineError('PACKAGE_ARTWORK_FAILED', 'The transcode wrote no storyboard frames.', { outDir: o.outDir });
  const meta = await sharp(first.file).metadata();
  const tileWidth = meta.width ?? TILE_WIDTH;
  const tileHeight = meta.height ?? Math.round((tileWidth * 9) / 16);
  const columns = Math.min(COLUMNS, o.tiles.length);
  const tiles: Tile[] = o.tiles.map((_, i) => ({
    x: (i % columns) * tileWidth,
    y: Math.floor(i / columns) * tileHeight,
    w: tileWidth,
    h: tileHeight,
  }));
  const spriteWidth = columns * tileWidth;
  const spriteHeight = Math.ceil(o.tiles.length / columns) * tileHeight;
  await mkdir(path.join(o.outDir, 'storyboard'), { recursive: true });
  const spriteFile = 'storyboard/sprite.jpg';
  await sharp({ create: { width: spriteWidth, height: spriteHeight, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite(o.tiles.map((t, i) => ({ input: t.file, left: tiles[i]!.x, top: tiles[i]!.y })))
    .jpeg({ quality: 70, mozjpeg: true })
    .toFile(path.join(o.outDir, spriteFile));
  const vttFile = 'storyboard/storyboard.vtt';
  await writeFile(path.join(o.outDir, vttFile), renderStoryboardVtt('sprite.jpg', tiles, o.intervalSec, o.durationSec));
  return { vttFile, spriteFile, spriteWidth, spriteHeight, tileWidth, tileHeight, intervalSec: o.intervalSec, tiles: o.tiles.length };
}
