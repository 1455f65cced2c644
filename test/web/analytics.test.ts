import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { tokenFor } from '../helpers/auth.ts';
import { launchChromium } from '../helpers/browser.ts';
import { ffmpegQuiet } from '../helpers/media.ts';
import { seedVideo } from '../helpers/seed.ts';
import { call } from '../../api/test/http.ts';
import { DESKTOP, openPage, PHONE, screenshot } from './harness.ts';

interface Summary {
  sessions: number;
  views: number;
  watchTimeSec: number;
  completionRate: number | null;
  startup: { p50Ms: number | null; samples: number };
  rebufferRatio: number | null;
  stalls: number;
  averageBitrate: number | null;
  rungs: Record<string, number>;
}

/** A real 4 s, 1-segment-per-second fMP4 HLS package (one 320x180 rung), published the way the packager stores it. */
async function publishClip(storage: LocalDiskStorage, id: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-analytics-'));
  try {
    await ffmpegQuiet([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p'],
      // One IDR per second, so every segment is exactly 1 s and the stall below starts at 2.0 s.
      ...['-g', '25', '-keyint_min', '25', '-sc_threshold', '0'],
      ...['-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4'],
      ...['-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', path.join(dir, 'seg_%03d.m4s')],
      path.join(dir, 'index.m3u8'),
    ]);
    await writeFile(
      path.join(dir, 'master.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180\nv0/index.m3u8\n',
    );
    for (const f of await readdir(dir))
      await storage.put(`hls/${id}/${f === 'master.m3u8' ? f : `v0/${f}`}`, createReadStream(path.join(dir, f)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('viewing analytics from a Chromium playback', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let browser: Browser;
  let id: string;
  let owner: string;
  let mod: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], env: { ANALYTICS_VIEW_SECONDS: '2' } });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    const repo = new VideoRepository(sql);
    [browser, id] = await Promise.all([
      launchChromium(),
      seedVideo(sql, storage, { uploaderId: 'parent-a', status: 'processing', title: 'Counted' }),
    ]);
    await publishClip(storage, id);
    await repo.markReady(id, { hlsPrefix: `hls/${id}`, masterKey: `hls/${id}/master.m3u8`, renditions: [] });
    [owner, mod] = await Promise.all([tokenFor('parent-a', 'uploader', { ttlSec: 900 }), tokenFor('mod-1', 'moderator', { ttlSec: 900 })]);
    expect((await call(t.url, 'POST', `/api/moderation/videos/${id}/approve`, { token: mod, body: {} })).status).toBe(200);
  });
  afterAll(async () => {
    await browser?.close();
    await sql?.end();
    await t?.close();
  });

  const stats = async (): Promise<Summary> =>
    (await call<{ total: Summary }>(t.url, 'GET', `/api/analytics/videos/${id}`, { token: owner })).body.total;

  /** Holds the third segment until the player has run dry at 2 s, then a little longer: a stall a viewer would see. */
  async function stallAtSegmentTwo(page: Page): Promise<void> {
    let held = false;
    await page.route(/\/v0\/seg_002\.m4s/, async (route) => {
      if (!held) {
        held = true;
        await page.waitForFunction(
          () => {
            const v = document.querySelector('video');
            return !!v && v.currentTime > 1.5 && v.readyState <= 2 && !v.paused;
          },
          undefined,
          { timeout: 30_000 },
        );
        await new Promise((r) => setTimeout(r, 600)); // the stall's length, not a wait for the test
      }
      await route.continue();
    });
  }

  it('counts the viewing: a view, its watch time, startup time and the forced stall as rebuffering', async () => {
    const { page, context, problems } = await openPage(browser, 'about:blank');
    await stallAtSegmentTwo(page);
    await page.goto(`${t.url}/embed/${id}?autoplay=1`);
    await page.waitForFunction(() => document.querySelector('video')?.ended === true, undefined, { timeout: 30_000 });
    await screenshot(page, 'analytics-embed-ended');
    await expect.poll(async () => (await stats()).views, { timeout: 15_000 }).toBe(1);
    const s = await stats();
    expect(s.sessions).toBe(1);
    expect(s.watchTimeSec).toBeGreaterThan(3.5);
    expect(s.watchTimeSec).toBeLessThanOrEqual(4.1);
    expect(s.completionRate).toBe(1);
    expect(s.startup.samples).toBe(1);
    expect(s.startup.p50Ms).toBeGreaterThan(0);
    expect(s.stalls).toBeGreaterThanOrEqual(1);
    expect(s.rebufferRatio).toBeGreaterThan(0);
    expect(s.rungs).toEqual({ '180p': 1 });
    expect(s.averageBitrate).toBe(400_000);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('sends what was watched with sendBeacon when the viewer leaves mid-video', async () => {
    const before = await stats();
    const { page, context } = await openPage(browser, `${t.url}/embed/${id}?autoplay=1`);
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, { timeout: 30_000 });
    await page.goto('about:blank'); // pagehide: the beacon goes out as the page is torn down
    await expect.poll(async () => (await stats()).sessions, { timeout: 15_000 }).toBe(before.sessions + 1);
    await expect.poll(async () => (await stats()).watchTimeSec, { timeout: 15_000 }).toBeGreaterThan(before.watchTimeSec + 0.9);
    await context.close();
  });

  it("shows views and watch time in the uploader's list and the totals on the moderator page", async () => {
    for (const [vp, tag] of [
      [DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const up = await openPage(browser, `${t.url}/upload?access_token=${owner}`, vp);
      const row = up.page.locator(`li.my-video[data-id="${id}"] .stats`);
      await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/^\d+ views? · 0:0\d watched$/);
      expect(await row.isVisible()).toBe(true);
      await screenshot(up.page, `analytics-my-videos-${tag}`);
      await up.context.close();

      const m = await openPage(browser, `${t.url}/moderate?access_token=${mod}`, vp);
      const totals = m.page.locator('#totals');
      await expect.poll(() => totals.textContent(), { timeout: 15_000 }).toMatch(/^Last 7 days: \d+ views? of 1 video, 0:0\d watched/);
      expect(await totals.isVisible()).toBe(true);
      expect(await totals.textContent()).toMatch(/rebuffering \d+\.\d %/);
      await screenshot(m.page, `analytics-moderate-${tag}`);
      await m.context.close();
    }
  });
});
