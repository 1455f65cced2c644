import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LadderRung } from '../../core/types.ts';
import { mediaInput } from '../../media/allow-list.ts';
import { probeWatermark, type WatermarkImage } from '../../media/watermark.ts';
import { loadConfig } from '../../ops/config.ts';
import { loadWatermark } from '../../ops/watermark-config.ts';
import { joinRendition } from '../../test/helpers/media-check.ts';
import { ALIGNED_GOP, makeClip } from '../../test/helpers/media.ts';
import { encodeVideoChunk, planVideoChunk } from '../chunks.ts';
import { planLadder } from '../ladder.ts';
import { probeSource } from '../probe.ts';
import { transcodeLadder, type TranscodeResult } from '../transcode.ts';
import { watermarkBox, type WatermarkOptions } from '../watermark.ts';

const run = promisify(execFile);
const logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const bins = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

let tmp: string;
let src: string;
let image: WatermarkImage;
let n = 0;
const wmOf = (corner: WatermarkOptions['corner']): WatermarkOptions => ({
  image,
  corner,
  opacity: 0.8,
  heightFraction: 0.2,
  marginFraction: 0.05,
});

async function ffmpeg(args: string[]): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

/** One decoded frame (`atSec` after the start) of a rendition directory as raw RGB. */
async function frameOf(renditionDir: string, atSec = 1.5): Promise<Buffer> {
  const joined = await joinRendition(renditionDir, `${renditionDir}-joined.mp4`);
  return ffmpeg(['-ss', String(atSec), '-i', joined.file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
}

/** Mean absolute difference of two RGB frames inside a rectangle. */
function meanDiff(a: Buffer, b: Buffer, width: number, box: { x: number; y: number; w: number; h: number }): number {
  let sum = 0;
  for (let y = box.y; y < box.y + box.h; y++) {
    for (let x = box.x; x < box.x + box.w; x++) {
      for (let c = 0; c < 3; c++) sum += Math.abs(a[(y * width + x) * 3 + c]! - b[(y * width + x) * 3 + c]!);
    }
  }
  return sum / (box.w * box.h * 3);
}

async function ladder(watermark?: WatermarkOptions): Promise<TranscodeResult> {
  const probe = await probeSource(src, bins);
  return transcodeLadder({
    ...bins,
    source: mediaInput(src, probe.container),
    probe,
    outDir: path.join(tmp, `out${n++}`),
    logger,
    preset: 'ultrafast',
    threads: 2,
    watermark,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-watermark-'));
  // Aligned keyframes: without a watermark the top rung would be a stream copy, so the test also shows it is not.
  src = await makeClip({ out: path.join(tmp, 'src.mp4'), durationSec: 2, width: 640, height: 360, extraArgs: ALIGNED_GOP });
  const png = path.join(tmp, 'wm.png');
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=white:s=80x40', '-frames:v', '1', '-y', png]);
  image = await probeWatermark(png, bins);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('watermark', () => {
  it('vets the PNG through the media layer and refuses anything else with OPS_WATERMARK_INVALID', async () => {
    expect(image).toMatchObject({ width: 80, height: 40 });
    const bad = async (name: string, body: Buffer | string): Promise<unknown> => {
      await writeFile(path.join(tmp, name), body);
      return probeWatermark(path.join(tmp, name), bins).catch((err: unknown) => err);
    };
    const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (const e of [
      await bad('text.png', 'not an image'),
      // A playlist behind a PNG signature: the forced png demuxer reads nothing else.
      await bad('playlist.png', Buffer.concat([sig, Buffer.from('#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n')])),
      await bad('jpeg.png', await ffmpeg(['-f', 'lavfi', '-i', 'color=s=8x8', '-frames:v', '1', '-f', 'mjpeg', '-'])),
      await probeWatermark(path.join(tmp, 'missing.png'), bins).catch((err: unknown) => err),
    ]) {
      expect(e).toMatchObject({ code: 'OPS_WATERMARK_INVALID' });
    }
    const huge = path.join(tmp, 'huge.png');
    await ffmpeg(['-f', 'lavfi', '-i', 'color=s=4100x8', '-frames:v', '1', '-y', huge]);
    await expect(probeWatermark(huge, bins)).rejects.toMatchObject({ code: 'OPS_WATERMARK_INVALID' });
  });

  it('is configured from WATERMARK_* and checked when the worker starts', async () => {
    const env = { DATABASE_URL: 'postgres://x/y', REDIS_URL: 'redis://x', DATA_DIR: tmp };
    expect(loadConfig(env).watermark).toBeUndefined();
    const c = loadConfig({ ...env, WATERMARK_PATH: image.path, WATERMARK_CORNER: 'top-left', WATERMARK_OPACITY: '0.3' });
    expect(await loadWatermark(c.watermark, 'ffprobe')).toMatchObject({ image: { width: 80 }, corner: 'top-left', opacity: 0.3 });
    expect(() => loadConfig({ ...env, WATERMARK_PATH: image.path, WATERMARK_OPACITY: '1.5' })).toThrow(
      expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }),
    );
    expect(() => loadConfig({ ...env, WATERMARK_PATH: image.path, WATERMARK_CORNER: 'middle' })).toThrow(
      expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }),
    );
    const text = loadConfig({ ...env, WATERMARK_PATH: path.join(tmp, 'text.png') });
    await expect(loadWatermark(text.watermark, 'ffprobe')).rejects.toMatchObject({ code: 'OPS_WATERMARK_INVALID' });
  });

  it('is visible in a decoded frame of every rung, in its corner only, and turns the quick path off', async () => {
    const [plain, marked] = [await ladder(), await ladder(wmOf('bottom-right'))];
    expect([plain.remuxedTopRung, marked.remuxedTopRung, marked.remuxBlockedBy]).toEqual([true, false, 'watermark']);
    expect(marked.plan.complexFilter?.split('overlay=').length).toBe(marked.rungs.length + 1);
    for (const [i, r] of marked.rungs.entries()) {
      const [a, b] = [await frameOf(path.join(plain.outDir, `v${i}`)), await frameOf(path.join(marked.outDir, `v${i}`))];
      const box = watermarkBox(wmOf('bottom-right'), r);
      const far = { ...box, x: box.w, y: box.h }; // a rectangle of the same size away from the corner
      expect(meanDiff(a, b, r.width, box), `${r.name} corner`).toBeGreaterThan(20);
      expect(meanDiff(a, b, r.width, far), `${r.name} elsewhere`).toBeLessThan(10);
    }
  });

  it('is burned into a chunk of a chunked encode the same way', async () => {
    const probe = await probeSource(src, bins);
    const rungs: readonly LadderRung[] = planLadder(probe).slice(0, 1);
    // A chunk that starts inside the source: its frames keep the source's timestamps, the watermark's one frame is at 0.
    const chunk = { index: 1, startSec: 1, durationSec: 1, firstSegmentNumber: 0, last: true };
    const common = {
      source: mediaInput(src, probe.container),
      probe,
      ffmpegPath: 'ffmpeg',
      logger,
      threads: 2,
      rungs,
      chunk,
      preset: 'ultrafast',
    };
    const plan = planVideoChunk({ ...common, outDir: tmp, watermark: wmOf('top-left') }).plan;
    expect([plan.images, plan.complexFilter]).toEqual([[{ path: image.path }], expect.stringContaining('overlay=x=')]);
    const plainDir = path.join(tmp, `chunk${n++}`);
    const markedDir = path.join(tmp, `chunk${n++}`);
    await encodeVideoChunk({ ...common, outDir: plainDir });
    await encodeVideoChunk({ ...common, outDir: markedDir, watermark: wmOf('top-left') });
    const [a, b] = [await frameOf(path.join(plainDir, 'v0'), 0.5), await frameOf(path.join(markedDir, 'v0'), 0.5)];
    expect(meanDiff(a, b, rungs[0]!.width, watermarkBox(wmOf('top-left'), rungs[0]!))).toBeGreaterThan(20);
  });
});
