import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from '../core/logger.ts';
import type { MediaInput } from '../media/allow-list.ts';
import { runFfmpeg } from '../transcoder/run-ffmpeg.ts';

export interface PosterOptions {
  readonly ffmpegPath: string;
  /** The master as the media layer vetted it. */
  readonly source: MediaInput;
  readonly durationSec: number;
  /** Directory of the package; posters go to `<outDir>/poster/`. */
  readonly outDir: string;
  readonly logger: Logger;
  /** Poster widths; default [320, 640, 1280]. Widths above the source's are dropped (no upscaling). */
  readonly widths?: readonly number[];
  /** Where candidates are sampled, as fractions of the duration; default 0.1 … 0.85. */
  readonly positions?: readonly number[];
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

const DEFAULT_POSITIONS = [0.1, 0.25, 0.4, 0.55, 0.7, 0.85];
const MAX_WIDTH = 1280;

async function extractCandidates(o: PosterOptions, tmp: string): Promise<Array<{ file: string; timeSec: number }>> {
  const out: Array<{ file: string; timeSec: number }> = [];
  for (const [i, pos] of (o.positions ?? DEFAULT_POSITIONS).entries()) {
    const timeSec = Math.max(0, Math.min(o.durationSec - 0.1, o.durationSec * pos));
    const file = path.join(tmp, `cand_${i}.png`);
    await runFfmpeg({
      ffmpegPath: o.ffmpegPath,
      logger: o.logger,
      // -ss before -i seeks to the preceding keyframe and decodes up to the exact time: cheap even for long sources.
      plan: {
        input: o.source,
        inputOptions: ['-hide_banner', '-nostdin', '-ss', timeSec.toFixed(3)],
        complexFilter: undefined,
        outputs: [{ path: file, options: ['-frames:v', '1', '-vf', `scale='min(${MAX_WIDTH},iw)':-2`, '-y'] }],
      },
    });
    out.push({ file, timeSec });
  }
  return out;
}

/** Picks the most representative candidate frame and writes it as JPEG and WebP at several widths. */
export async function makePosters(o: PosterOptions): Promise<PosterResult> {
  const dir = path.join(o.outDir, 'poster');
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(path.join(o.outDir, '.poster-'));
  try {
    const candidates = await extractCandidates(o, tmp);
    const scored = await Promise.all(candidates.map(async (c) => ({ ...c, ...(await scoreFrame(c.file)) })));
    const best = scored.reduce((a, b) => (b.score > a.score ? b : a));
    const meta = await sharp(best.file).metadata();
    const srcWidth = meta.width ?? MAX_WIDTH;
    const wanted = (o.widths ?? [320, 640, 1280]).filter((w) => w <= srcWidth);
    const widths = wanted.length > 0 ? wanted : [srcWidth];
    const images: PosterImage[] = [];
    for (const w of widths) {
      const resized = sharp(best.file).resize({ width: w });
      for (const format of ['jpeg', 'webp'] as const) {
        const file = `poster/poster-${w}.${format === 'jpeg' ? 'jpg' : 'webp'}`;
        const info = await (
          format === 'jpeg' ? resized.clone().jpeg({ quality: 82, mozjpeg: true }) : resized.clone().webp({ quality: 80 })
        ).toFile(path.join(o.outDir, file));
        images.push({ file, width: info.width, height: info.height, format });
      }
    }
    return { timeSec: best.timeSec, images };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
