import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../core/logger.ts';
import { gatheredArtworkPlan, gatheredFile, PART_STILLS_DIR } from '../packager/artwork-parts.ts';
import { storageSink } from '../storage/publish.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { hlsPrefix } from './job-parts.ts';
import { NO_ARTWORK, publishArtwork, type Artwork } from './package-stage.ts';
import { makeJobDir } from './source-step.ts';

export interface GatherArtworkOptions {
  readonly storage: ObjectStorage;
  readonly workDir: string;
  readonly logger: Logger;
}

/**
 * Posters and storyboard of a chunked encode, composed from the frames its video parts published (artwork-parts.ts):
 * fetched into a temp dir of this host, written and published like a one-piece run's, then the frames are deleted.
 * Artwork is an extra: any failure publishes the video without it, as in the one-piece run.
 */
export async function gatherChunkedArtwork(o: GatherArtworkOptions, videoId: string, durationSec: number): Promise<Artwork> {
  const prefix = hlsPrefix(videoId);
  const keys = await o.storage.list(`${prefix}/${PART_STILLS_DIR}/`);
  const dir = await makeJobDir(o.workDir, videoId);
  try {
    const plan = gatheredArtworkPlan(dir, durationSec);
    await Promise.all([plan.tiles.dir, plan.candidates.dir].map((d) => mkdir(d, { recursive: true })));
    for (const key of keys) {
      const file = gatheredFile(plan, path.basename(key));
      if (file) await pipeline(await o.storage.get(key), createWriteStream(file));
    }
    return await publishArtwork({ workDir: dir, prefix, logger: o.logger }, storageSink(o.storage, prefix), plan);
  } catch (err) {
    o.logger.warn(
      { videoId, err: err instanceof Error ? err.message : String(err) },
      'chunk frames not gathered; publishing without artwork',
    );
    return NO_ARTWORK;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await Promise.all(keys.map((k) => o.storage.delete(k))).catch((err: unknown) =>
      o.logger.warn({ videoId, err: err instanceof Error ? err.message : String(err) }, 'chunk frames left in the package prefix'),
    );
  }
}
