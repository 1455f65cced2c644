import { rm } from 'node:fs/promises';
import path from 'node:path';
import { listStills, type StillSeries } from '../transcoder/stills.ts';
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
 * After the ladder's ffmpeg exited: scores the candidates and writes the posters, composes the sprite and VTT (sharp
 * only, both at once) into outDir, then removes the frames whatever happened.
 */
export async function writeArtwork(plan: ArtworkPlan, outDir: string): Promise<ArtworkFiles> {
  try {
    // allSettled, not all: the frames are removed only once neither side still reads them.
    const [posters, storyboard] = await Promise.allSettled([
      listStills(plan.candidates, POSTER_CANDIDATES).then((candidates) => writePosters({ candidates, outDir })),
      listStills(plan.tiles, plan.tileCount).then((tiles) =>
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
