import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PipelineError } from '../core/errors.ts';
import type { Still } from '../transcoder/stills.ts';

/** Largest poster width; candidates are taken at most this wide (never upscaled). */
export const MAX_POSTER_WIDTH = 1280;
/** Poster widths written, each as JPEG and WebP; widths above the frame's are dropped (no upscaling). */
const WIDTHS = [320, 640, MAX_POSTER_WIDTH];
/** Candidates at 10 %, 25 %, … 85 % of the duration: spread over the video, away from fades at either end. */
const FIRST_POSITION = 0.1;
const POSITION_STEP = 0.15;
export const POSTER_CANDIDATES = 6;

/** Where the candidates are taken: the first at startSec, then one every intervalSec (whole milliseconds, ≥ 1 ms). */
export function posterCandidateTimes(durationSec: number): { startSec: number; intervalSec: number } {
  const wholeMs = (sec: number): number => Math.round(sec * 1000) / 1000;
  return { startSec: wholeMs(durationSec * FIRST_POSITION), intervalSec: Math.max(0.001, wholeMs(durationSec * POSITION_STEP)) };
}

export interface PosterOptions {
  /** Candidate frames, at most MAX_POSTER_WIDTH wide. */
  readonly candidates: readonly Still[];
  /** Directory of the package; posters go to `<outDir>/poster/`. */
  readonly outDir: string;
}

export interface PosterImage {
  /** Path relative to outDir. */
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly format: 'jpeg' | 'webp';
}

export interface PosterResult {
  /** Time (s) of the chosen frame. */
  readonly timeSec: number;
  readonly images: readonly PosterImage[];
}

export interface FrameScore {
  readonly luma: number;
  readonly contrast: number;
  readonly score: number;
}

/** Frames darker or brighter than this mean luma (0–255) are fades, title cards or blown-out shots, not posters. */
const MIN_LUMA = 28;
const MAX_LUMA = 230;

/** Scores a frame by greyscale mean and spread: a well-exposed, detailed frame beats a black or flat one. */
export async function scoreFrame(file: string): Promise<FrameScore> {
  const stats = await sharp(file).greyscale().stats();
  const ch = stats.channels[0];
  const luma = ch?.mean ?? 0;
  const contrast = ch?.stdev ?? 0;
  const exposed = luma >= MIN_LUMA && luma <= MAX_LUMA;
  // Exposure is a gate, contrast and entropy rank the exposed frames; unexposed ones only win when nothing else exists.
  const score = (exposed ? 1000 : 0) + contrast + stats.entropy * 4;
  return { luma, contrast, score };
}

/** Picks the most representative candidate frame and writes it as JPEG and WebP at several widths, all at once. */
export async function writePosters(o: PosterOptions): Promise<PosterResult> {
  if (o.candidates.length === 0) {
    throw new PipelineError('PACKAGE_ARTWORK_FAILED', 'The transcode wrote no poster candidates.', { outDir: o.outDir });
  }
  const scored = await Promise.all(o.candidates.map(async (c) => ({ ...c, ...(await scoreFrame(c.file)) })));
  const best = scored.reduce((a, b) => (b.score > a.score ? b : a));
  const srcWidth = (await sharp(best.file).metadata()).width ?? MAX_POSTER_WIDTH;
  const wanted = WIDTHS.filter((w) => w <= srcWidth);
  const widths = wanted.length > 0 ? wanted : [srcWidth];
  await mkdir(path.join(o.outDir, 'poster'), { recursive: true });
  const images = await Promise.all(
    widths.flatMap((w) =>
      (['jpeg', 'webp'] as const).map(async (format): Promise<PosterImage> => {
        const file = `poster/poster-${w}.${format === 'jpeg' ? 'jpg' : 'webp'}`;
        const resized = sharp(best.file).resize({ width: w });
        const encoded = format === 'jpeg' ? resized.jpeg({ quality: 82, mozjpeg: true }) : resized.webp({ quality: 80 });
        const info = await encoded.toFile(path.join(o.outDir, file));
        return { file, width: info.width, height: info.height, format };
      }),
    ),
  );
  return { timeSec: best.timeSec, images };
}
