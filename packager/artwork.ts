import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { listStills, type Still, type StillSeries } from '../transcoder/stills.ts';
import { MAX_POSTER_WIDTH, POSTER_CANDIDATES, posterCandidateTimes, writePosters, type PosterResult } from './posters.ts';
import { composeStoryboard, storyboardInterval, storyboardTiles, TILE_WIDTH, type StoryboardResult } from './storyboard.ts';

/**
 * Work-dir folder of the frames ffmpeg taps off the ladder's decode. A dot-directory, because ProgressivePackager
 * publishes every file under the work dir except those in dot-directories (filesUnder): the frames are raw material,
 * not part of the package.
 */
export const STILLS_DIR = '.stills';

/** The frames the ladder's ffmpeg run writes for posters and storyboard, and how many of each are used. */
export interface ArtworkPlan {
  /** Removed by writeArtwork. */
  readonly dir: string;
  readonly durationSec: number;
  readonly tiles: StillSeries;
  readonly tileCount: number;
  readonly candidates: StillSeries;
  /** The frames were gathered from a chunked encode's parts (artwork-parts.ts), not written by one ffmpeg run. */
  readonly gathered?: boolean;
}

/** Plans the two still series: one storyboard tile per interval from 0, POSTER_CANDIDATES frames from 10 % on. */
export function planArtwork(workDir: string, durationSec: number): ArtworkPlan {
  const dir = path.join(workDir, STILLS_DIR);
  const intervalSec = storyboardInterval(durationSec);
  return {
    dir,
    durationSec,
    tiles: { name: 'tile', dir: path.join(dir, 'tiles'), startSec: 0, intervalSec, width: TILE_WIDTH, fit: 'exact' },
    tileCount: storyboardTiles(durationSec, intervalSec),
    candidates: {
      name: 'cand',
      dir: path.join(dir, 'candidates'),
      ...posterCandidateTimes(durationSec),
      width: MAX_POSTER_WIDTH,
      fit: 'shrink',
    },
  };
}

/** The series to hand to the transcoder. */
export function artworkStills(plan: ArtworkPlan): StillSeries[] {
  return [plan.tiles, plan.candidates];
}

export interface ArtworkFiles {
  readonly posters: PosterResult;
  readonly storyboard: StoryboardResult;
}

/**
 * After the ladder's ffmpeg exited: scores the candidates and writes the posters (unless `early` already does, see
 * early-posters.ts), composes the sprite and VTT (sharp only, both at once) into outDir, then removes the frames
 * whatever happened.
 */
export async function writeArtwork(plan: ArtworkPlan, outDir: string, early?: Promise<PosterResult>): Promise<ArtworkFiles> {
  try {
    // allSettled, not all: the frames are removed only once neither side still reads them.
    const list = plan.gathered ? listGathered : listStills;
    const [posters, storyboard] = await Promise.allSettled([
      early ?? list(plan.candidates, POSTER_CANDIDATES).then((candidates) => writePosters({ candidates, outDir })),
      list(plan.tiles, plan.tileCount).then((tiles) =>
        composeStoryboard({ tiles, durationSec: plan.durationSec, intervalSec: plan.tiles.intervalSec, outDir }),
      ),
    ]);
    if (posters.status === 'rejected') throw posters.reason;
    if (storyboard.status === 'rejected') throw storyboard.reason;
    return { posters: posters.value, storyboard: storyboard.value };
  } finally {
    await rm(plan.dir, { recursive: true, force: true });
  }
}

/** A gathered frame's file name: its series and its 1-based index in the whole video's series (artwork-parts.ts). */
export const stillName = (series: string, index: number): string => `${series}_${String(index + 1).padStart(5, '0')}.png`;

const ms = (sec: number): number => Math.round(sec * 1000);

/**
 * The gathered frames of a series in time order, from index 0 up to the first missing one (a storyboard's tile k must
 * show time k × interval, so nothing after a gap can be placed), at most `limit`.
 */
export async function listGathered(series: StillSeries, limit: number): Promise<Still[]> {
  const present = new Set(await readdir(series.dir).catch(() => [] as string[]));
  const out: Still[] = [];
  for (let k = 0; k < limit && present.has(stillName(series.name, k)); k++)
    out.push({
      file: path.join(series.dir, stillName(series.name, k)),
      timeSec: (ms(series.startSec) + k * ms(series.intervalSec)) / 1000,
    });
  return out;
}
