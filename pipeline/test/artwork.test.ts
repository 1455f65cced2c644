import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaInput, type MediaInput } from '../../media/allow-list.ts';
import { feedSlowly } from '../../test/helpers/slow-source.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { logLines, type LogLine } from '../../test/helpers/log-lines.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { FfmpegPool } from '../../transcoder/pool.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { transcodeAndPackage, type PackagedTranscodeResult } from '../package-stage.ts';

/**
 * Posters and storyboard come from the ladder's own decode: whichever way ffmpeg runs (from this thread, on the pool,
 * on the quick path where every rung is a copy), one video costs one ffmpeg process and nothing decodes it again.
 */
describe('artwork from the ladder decode', () => {
  let tmp: string;
  let ffmpegPath: string;
  let spawnLog: string;
  let n = 0;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-artwork-'));
    // Every ffmpeg process the stage starts goes through this wrapper and leaves one line behind.
    spawnLog = path.join(tmp, 'spawns.log');
    ffmpegPath = path.join(tmp, 'ffmpeg-counted');
    await writeFile(ffmpegPath, `#!/bin/sh\necho "$*" >> '${spawnLog}'\nexec ffmpeg "$@"\n`);
    await chmod(ffmpegPath, 0o755);
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  interface Published {
    readonly res: PackagedTranscodeResult;
    readonly dir: string;
    readonly workDir: string;
    /** Command lines of the ffmpeg runs that opened an input. */
    readonly spawns: string[];
    readonly logs: { find(msg: string): LogLine[] };
    readonly durationSec: number;
    readonly progress: number[];
  }

  async function publish(
    clip: string,
    o: { pool?: FfmpegPool; storage?: (root: string) => ObjectStorage; source?: MediaInput } = {},
  ): Promise<Published> {
    const name = `run${n++}`;
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const workDir = await mkdtemp(path.join(tmp, `${name}-work-`));
    const root = path.join(tmp, name);
    const logs = logLines();
    await writeFile(spawnLog, '');
    const progress: number[] = [];
    const res = await transcodeAndPackage({
      ffmpegPath,
      ffprobePath: 'ffprobe',
      source: o.source ?? mediaInput(clip, probe.container),
      probe,
      workDir,
      storage: o.storage?.(root) ?? new LocalDiskStorage({ root }),
      prefix: 'hls',
      logger: pino({ level: 'info' }, logs.stream),
      preset: 'ultrafast',
      threads: 1,
      pool: o.pool,
      onProgress: (pct) => progress.push(pct),
    });
    // fluent-ffmpeg also asks the binary for its formats and encoders (no input, no decode); those are not counted.
    const spawns = (await readFile(spawnLog, 'utf8')).split('\n').filter((l) => l && !/^-(formats|encoders|codecs|filters)$/.test(l));
    return { res, dir: path.join(root, 'hls'), workDir, spawns, logs, durationSec: probe.durationSec, progress };
  }

  /** Posters at their sizes, a sprite of 160 px tiles, VTT cues from 0 to the end without gaps, no frame published. */
  async function expectArtwork(p: Published, size: { width: number; height: number }): Promise<void> {
    const { artwork } = p.res;
    const widths = [320, 640, 1280].filter((w) => w <= size.width);
    expect(artwork.posterKey).toBe(`hls/poster/poster-${widths.includes(640) ? 640 : widths[0]}.jpg`);
    expect(artwork.posters.map((r) => `${r.width}x${r.height}.${r.format}`)).toEqual(
      widths.flatMap((w) => ['jpeg', 'webp'].map((f) => `${w}x${Math.round((w * size.height) / size.width)}.${f}`)),
    );
    for (const r of artwork.posters) {
      const meta = await sharp(path.join(p.dir, r.key.slice('hls/'.length))).metadata();
      expect(`${meta.width}x${meta.height}.${meta.format}`).toBe(`${r.width}x${r.height}.${r.format}`);
    }
    const tiles = Math.ceil(p.durationSec);
    const tileHeight = Math.round((160 * size.height) / size.width / 2) * 2;
    const sprite = await sharp(path.join(p.dir, 'storyboard/sprite.jpg')).metadata();
    expect([sprite.width, sprite.height]).toEqual([Math.min(tiles, 10) * 160, Math.ceil(tiles / 10) * tileHeight]);
    const vtt = await readFile(path.join(p.dir, 'storyboard/storyboard.vtt'), 'utf8');
    const cues = [...vtt.matchAll(/(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\nsprite\.jpg#xywh=(\d+),(\d+),160,(\d+)/g)];
    expect(cues).toHaveLength(tiles);
    let end = 0;
    for (const [i, c] of cues.entries()) {
      expect(Number(c[2]) * 60 + Number(c[3])).toBeCloseTo(end, 3);
      end = Number(c[5]) * 60 + Number(c[6]);
      expect([Number(c[7]), Number(c[8]), Number(c[9])]).toEqual([(i % 10) * 160, Math.floor(i / 10) * tileHeight, tileHeight]);
    }
    expect(end).toBeCloseTo(p.durationSec, 3);
    // The frames were neither published nor left behind.
    expect((await readdir(p.dir, { recursive: true })).filter((f) => f.includes('.stills') || f.endsWith('.tiff'))).toEqual([]);
    expect(await readdir(p.workDir)).not.toContain('.stills');
  }

  it('one ffmpeg run for ladder, posters and storyboard (ffmpeg supervised from this thread)', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 12, width: 640, height: 360 });
    const p = await publish(clip);
    expect(p.spawns).toHaveLength(1);
    expect(p.res.pkg.renditions.filter((r) => r.kind === 'video')).toHaveLength(2);
    // Progress still comes from ffmpeg's time= with the still outputs in the run: rising, some of it mid-way, 100 at the end.
    expect(p.progress.some((pct) => pct > 0 && pct < 100)).toBe(true);
    expect(p.progress.every((pct, i) => i === 0 || pct >= p.progress[i - 1]!)).toBe(true);
    expect(p.progress.at(-1)).toBe(100);
    await expectArtwork(p, { width: 640, height: 360 });
  });

  it('one ffmpeg run on the worker-thread pool too', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'pool.mp4'), durationSec: 5, width: 640, height: 360 });
    const pool = await FfmpegPool.create({ ffmpegPath, logger: pino({ level: 'silent' }), size: 1 });
    try {
      const p = await publish(clip, { pool });
      expect(p.spawns).toHaveLength(1);
      await expectArtwork(p, { width: 640, height: 360 });
    } finally {
      await pool.close();
    }
  });

  it('one ffmpeg run when every rung is a stream copy: the stills still get their (single) decode', async () => {
    // 320x180 is a one-rung ladder; a low bitrate on the 2 s IDR grid lets the quick path copy it.
    const clip = await makeClip({
      out: path.join(tmp, 'remux.mp4'),
      durationSec: 6,
      width: 320,
      height: 180,
      extraArgs: ['-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '60k', '-maxrate', '80k', '-bufsize', '80k', '-ac', '2'],
    });
    const p = await publish(clip);
    expect(p.logs.find('transcode planned')[0]).toMatchObject({ remux: true, rungs: ['180p'] });
    expect(p.spawns).toHaveLength(1);
    expect(p.spawns[0]).toContain('-c:v copy');
    await expectArtwork(p, { width: 320, height: 180 });
  });

  it('writes the posters while the ladder still encodes: the last candidate sits at 85 %, long before the end', async () => {
    // Arriving over 8 s, the source keeps ffmpeg running ≥ 1 s after its last poster candidate (85 % of 8 s), whatever
    // the machine's load: the posters must not wait for ffmpeg's exit.
    const clip = await makeClip({ out: path.join(tmp, 'slow.ts'), durationSec: 8, width: 640, height: 360 });
    const slow = await feedSlowly(clip, 8);
    try {
      const p = await publish(clip, { source: slow.input });
      expect(p.spawns).toHaveLength(1);
      expect(p.logs.find('posters and storyboard published')[0]).toMatchObject({ postersDuringEncode: true });
      await expectArtwork(p, { width: 640, height: 360 });
    } finally {
      await slow.close();
    }
  });

  it('publishes the video without artwork when the artwork fails, and logs why', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'fail.mp4'), durationSec: 3, width: 640, height: 360 });
    const failingPosters = (root: string): ObjectStorage => {
      const storage = new LocalDiskStorage({ root });
      const put = storage.put.bind(storage);
      storage.put = (key, body, opts) => {
        if (!key.includes('/poster/')) return put(key, body, opts);
        body.destroy();
        return Promise.reject(new Error('poster storage refused the write'));
      };
      return storage;
    };
    const p = await publish(clip, { storage: failingPosters });
    expect(p.res.artwork).toEqual({ posterKey: null, storyboardKey: null, posters: [] });
    expect(p.logs.find('posters/storyboard failed; publishing without them')[0]?.['err']).toMatch(/refused the write/);
    expect(await readdir(p.dir)).toContain('master.m3u8');
    expect(await readdir(p.workDir)).not.toContain('.stills');
  });
});
