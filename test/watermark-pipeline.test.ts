import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Sql } from '../db/client.ts';
import { watermarkBox } from '../transcoder/watermark.ts';
import { startTestApp, waitFor, type TestApp } from './helpers/app.ts';
import { joinRendition } from './helpers/media-check.ts';
import { makeClip } from './helpers/media.ts';
import { tusUpload } from './helpers/tus-upload.ts';

const run = promisify(execFile);
const WM = { corner: 'bottom-right', opacity: 1, heightFraction: 0.2, marginFraction: 0.05 } as const;

/**
 * WATERMARK_* reaches the worker's jobs: every published rung of an uploaded video shows the PNG in its corner. The
 * clip's bottom-right corner is cyan (testsrc2) and the watermark opaque white, so the red channel tells them apart.
 */
describe('watermark through the running pipeline', () => {
  let t: TestApp;
  let sql: Sql;
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-wm-e2e-'));
    const png = path.join(tmp, 'wm.png');
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=white:s=60x30', '-frames:v', '1', '-y', png]);
    t = await startTestApp({
      env: {
        WATERMARK_PATH: png,
        WATERMARK_CORNER: WM.corner,
        WATERMARK_OPACITY: String(WM.opacity),
        WATERMARK_HEIGHT: String(WM.heightFraction),
        WATERMARK_MARGIN: String(WM.marginFraction),
      },
    });
    sql = createDb({ url: t.db.url, max: 1 });
  }, 120_000);
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await t?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('burns the PNG into every rung of a processed video', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 1, width: 640, height: 360 });
    const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { filename: 'clip.mp4', title: 'Watermarked' });
    await waitFor(async () => ((await sql`SELECT 1 FROM videos WHERE id = ${videoId} AND status = 'ready'`).length ? true : undefined), {
      timeoutMs: 120_000,
      what: 'the video to be ready',
    });
    const rungs = await sql<{ playlist_key: string; width: number; height: number }[]>`SELECT playlist_key, width, height
      FROM renditions WHERE video_id = ${videoId} AND kind = 'video' ORDER BY height`;
    expect(rungs.length).toBeGreaterThan(1);
    for (const r of rungs) {
      const dir = path.dirname(path.join(t.config.publishDir, r.playlist_key));
      const joined = await joinRendition(dir, path.join(tmp, `${r.height}.mp4`));
      const { stdout } = await run(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-i', joined.file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
        { encoding: 'buffer', maxBuffer: 16 << 20 },
      );
      const box = watermarkBox({ ...WM, image: { path: '', width: 60, height: 30 } }, r);
      let red = 0;
      for (let y = box.y + 2; y < box.y + box.h - 2; y++)
        for (let x = box.x + 2; x < box.x + box.w - 2; x++) red += stdout[(y * r.width + x) * 3]!;
      expect(red / ((box.w - 4) * (box.h - 4)), `${r.height}p corner`).toBeGreaterThan(200);
    }
  }, 150_000);
});
