import path from 'node:path';
import sharp from 'sharp';
import { listStills, type StillSeries } from '../transcoder/stills.ts';
import { planArtwork, stillName, type ArtworkPlan } from './artwork.ts';
import { POSTER_CANDIDATES } from './posters.ts';
import type { PackageSink } from './progressive.ts';

/**
 * The frames of a chunked encode, as the parts leave them in the package prefix until the parent composes the
 * posters and storyboard. A dot-directory: no playback route serves a path segment that starts with a dot, no playlist
 * names it, and deleting the video's package prefix takes it along.
 */
export const PART_STILLS_DIR = '.stills';

/** Frames of one series whose times fall in one part's range: global indexes first … first + count - 1. */
export interface StillSlice {
  readonly series: StillSeries;
  readonly first: number;
  readonly count: number;
}

export interface PartArtworkPlan {
  /** Where ffmpeg writes this part's frames (inside the part's work dir). */
  readonly dir: string;
  readonly slices: readonly StillSlice[];
}

const ms = (sec: number): number => Math.round(sec * 1000);

/** Frames k with startSec + k × interval in [fromMs, toMs) of a series of `total` frames. */
function slice(s: StillSeries, total: number, fromMs: number, toMs: number | undefined): StillSlice | undefined {
  const start = ms(s.startSec);
  const step = ms(s.intervalSec);
  const first = Math.max(0, Math.ceil((fromMs - start) / step));
  const end = toMs === undefined ? total : Math.min(total, Math.ceil((toMs - start) / step));
  if (end <= first) return undefined;
  return { series: { ...s, startSec: (start + first * step) / 1000 }, first, count: end - first };
}

/**
 * The poster candidates and storyboard tiles that fall in one chunk's time range, planned exactly as the one-piece
 * run plans them for the whole video (planArtwork), so the chunks together tap every frame once, each from its own
 * decode: no part decodes the whole source a second time just for pictures.
 */
export function planPartArtwork(workDir: string, durationSec: number, range: { startSec: number; endSec?: number }): PartArtworkPlan {
  const full = planArtwork(workDir, durationSec);
  const to = range.endSec === undefined ? undefined : ms(range.endSec);
  const slices = [
    slice(full.tiles, full.tileCount, ms(range.startSec), to),
    slice(full.candidates, POSTER_CANDIDATES, ms(range.startSec), to),
  ];
  return { dir: full.dir, slices: slices.filter((s): s is StillSlice => s !== undefined) };
}

/** The series to hand to the chunk's ffmpeg run. */
export const partStills = (p: PartArtworkPlan): StillSeries[] => p.slices.map((s) => s.series);

/**
 * Publishes a part's frames under PART_STILLS_DIR as lossless PNG named by their index in the whole video's series
 * (raw TIFF is ten times larger, and these cross the network to whichever host composes). Returns how many.
 */
export async function publishPartStills(p: PartArtworkPlan, sink: PackageSink): Promise<number> {
  let n = 0;
  for (const s of p.slices) {
    const stills = await listStills(s.series, s.count);
    for (const [k, still] of stills.entries()) {
      const name = stillName(s.series.name, s.first + k);
      const png = path.join(s.series.dir, name);
      await sharp(still.file).png({ compressionLevel: 6 }).toFile(png);
      await sink.putFile(`${PART_STILLS_DIR}/${name}`, png);
      n++;
    }
  }
  return n;
}

/** The whole video's artwork plan, to be filled with the parts' frames (gatheredFile) and written by writeArtwork. */
export function gatheredArtworkPlan(workDir: string, durationSec: number): ArtworkPlan {
  return { ...planArtwork(workDir, durationSec), gathered: true };
}

/** Where a published part frame goes in a gathered plan; undefined for a name that is not one of ours. */
export function gatheredFile(plan: ArtworkPlan, name: string): string | undefined {
  const m = /^([a-z]+)_(\d{5})\.png$/.exec(name);
  const series = [plan.tiles, plan.candidates].find((s) => s.name === m?.[1]);
  return series ? path.join(series.dir, name) : undefined;
}
