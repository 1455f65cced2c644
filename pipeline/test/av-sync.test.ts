import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaInput } from '../../media/allow-list.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { transcodeAndPackage } from '../package-stage.ts';
import { avOffset, makeFlashBeepClip } from '../../test/helpers/av-sync.ts';
import { logLines } from '../../test/helpers/log-lines.ts';

/**
 * Sync is measured the way a viewer meets it: decode the published package, find the flash frame and the beep onset,
 * and compare their distance with the same distance in the source. Container fields (edit lists, tfdt) are not
 * trusted here; they are what went wrong before (a 66 ms empty edit on the video, unsignalled AAC priming).
 */
describe('audio/video sync of the published package, from decoded output', () => {
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-avsync-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function publish(name: string, source: string, allowRemux: boolean): Promise<{ dir: string; remux: boolean; rungs: string[] }> {
    const probe = await probeSource(source, { ffprobePath: 'ffprobe' });
    const log = logLines();
    const res = await transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(source, probe.container),
      probe,
      workDir: await mkdtemp(path.join(tmp, `${name}-work-`)),
      storage: new LocalDiskStorage({ root: path.join(tmp, name) }),
      prefix: 'hls',
      logger: pino({ level: 'info' }, log.stream),
      allowRemux,
      skipArtwork: true,
    });
    const planned = log.find('transcode planned')[0];
    return {
      dir: path.join(tmp, name, 'hls'),
      remux: planned?.['remux'] === true,
      rungs: res.pkg.renditions.filter((r) => r.kind === 'video').map((r) => r.playlist),
    };
  }

  const cases = [
    { name: 'encoded-30', fps: 30, alignedGop: false, allowRemux: false },
    { name: 'encoded-25', fps: 25, alignedGop: false, allowRemux: false },
    // The quick path copies the top rung and the audio: the source's own B-frame delay and priming must survive.
    { name: 'remux-30', fps: 30, alignedGop: true, allowRemux: true },
  ];

  for (const c of cases) {
    it(`${c.name}: every rung within 10 ms of the source's offset (one frame is ${Math.round(1000 / c.fps)} ms)`, async () => {
      const source = await makeFlashBeepClip({ out: path.join(tmp, `${c.name}.mp4`), fps: c.fps, alignedGop: c.alignedGop });
      const reference = await avOffset(source);
      expect(Math.abs(reference)).toBeLessThan(0.005);
      const out = await publish(c.name, source, c.allowRemux);
      expect(out.remux).toBe(c.allowRemux);
      expect(out.rungs.length).toBeGreaterThanOrEqual(2);
      for (const playlist of out.rungs) {
        const offset = await avOffset(path.join(out.dir, playlist), path.join(out.dir, 'audio/index.m3u8'));
        expect({ playlist, drift: Math.abs(offset - reference) < 0.01 }).toEqual({ playlist, drift: true });
      }
      // The master as a player opens it: the best rung and the audio group together.
      const master = path.join(out.dir, 'master.m3u8');
      expect(Math.abs((await avOffset(master)) - reference)).toBeLessThan(0.01);
    });
  }
});
