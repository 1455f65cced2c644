import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/app.ts';
import { ffmpegQuiet } from '../../test/helpers/media.ts';
import { planArtwork } from '../artwork.ts';
import { EarlyPosters } from '../early-posters.ts';
import { POSTER_CANDIDATES } from '../posters.ts';

describe('EarlyPosters: posters written while the ladder still runs', () => {
  let tmp: string;
  let frame: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-early-'));
    frame = path.join(tmp, 'frame.tiff');
    await ffmpegQuiet([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360',
      '-frames:v',
      '1',
      '-pix_fmt',
      'rgb24',
      '-compression_algo',
      'raw',
      frame,
    ]);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const candidate = (dir: string, k: number): string => path.join(dir, `cand_${String(k).padStart(5, '0')}.tiff`);

  it('starts once every candidate is whole, ignoring frames ffmpeg is still writing', async () => {
    const work = await mkdtemp(path.join(tmp, 'work-'));
    const plan = planArtwork(work, 30);
    const early = new EarlyPosters(plan, work, 10);
    early.start();
    await new Promise((r) => setTimeout(r, 50)); // no directory yet: nothing happens, nothing throws
    await mkdir(plan.candidates.dir, { recursive: true });
    for (let k = 1; k < POSTER_CANDIDATES; k++) await writeWhole(candidate(plan.candidates.dir, k));
    // The last one as image2's atomic writing leaves it mid-write: under a temporary name, and not a whole TIFF.
    await writeFile(`${candidate(plan.candidates.dir, POSTER_CANDIDATES)}.tmp`, 'II*\0');
    await new Promise((r) => setTimeout(r, 100));
    expect(early.posters).toBeUndefined();
    await writeWhole(candidate(plan.candidates.dir, POSTER_CANDIDATES));
    await waitFor(async () => (early.posters ? true : undefined), { timeoutMs: 10_000, intervalMs: 10, what: 'early posters' });
    const result = await early.posters!;
    expect(result.images.map((i) => i.file).sort()).toEqual([
      'poster/poster-320.jpg',
      'poster/poster-320.webp',
      'poster/poster-640.jpg',
      'poster/poster-640.webp',
    ]);
    expect(await readdir(path.join(work, 'poster'))).toHaveLength(4);
    await early.stop();
    await early.stop(); // idempotent
  });

  it('leaves the posters to the end when the candidates never all arrive, and stops cleanly', async () => {
    const work = await mkdtemp(path.join(tmp, 'work-'));
    const plan = planArtwork(work, 30);
    await mkdir(plan.candidates.dir, { recursive: true });
    await writeWhole(candidate(plan.candidates.dir, 1));
    const early = new EarlyPosters(plan, work, 10);
    early.start();
    await new Promise((r) => setTimeout(r, 100));
    await early.stop();
    expect(early.posters).toBeUndefined();
  });

  /** As image2's atomic writing does: the frame appears under its name only once whole. */
  const writeWhole = async (file: string): Promise<void> => {
    await writeFile(`${file}.tmp`, await readFile(frame));
    await rename(`${file}.tmp`, file);
  };
});
