import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import type { Browser, Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { bearer, tokenFor } from '../helpers/auth.ts';
import { launchChromium } from '../helpers/browser.ts';
import { seedPlayableVideo } from '../helpers/playable.ts';
import { expectControlsVisible, openPage, PHONE, screenshot } from './harness.ts';

const hostPage = (api: string, id: string): string => `<!doctype html><html><body style="margin:0">
<div data-kidstream-video="${id}" data-autoplay="1" data-title="Captioned clip"></div>
<script src="${api}/player/embed.js"></script></body></html>`;

/** Two cues, so the test can tell the captions line up with the picture (not just that some cue exists). */
const CAPTIONS = 'WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nHello <i>kids</i>\n\n00:00:01.300 --> 00:00:02.400\nBye now\n';

/** The captions menu is shown, inside the player's box, uncovered, and on the controls' row. */
async function expectCaptionsControlVisible(frame: Frame, box: { x: number; y: number; width: number; height: number }): Promise<void> {
  const menu = frame.locator('[data-role="captions"]');
  expect(await menu.isVisible()).toBe(true);
  const b = (await menu.boundingBox())!;
  expect(b.x >= box.x - 1 && b.x + b.width <= box.x + box.width + 1 && b.y + b.height <= box.y + box.height + 1).toBe(true);
  const play = (await frame.locator('[data-role="play"]').boundingBox())!;
  expect(Math.abs(b.y + b.height / 2 - (play.y + play.height / 2))).toBeLessThan(8);
  const onTop = await menu.evaluate((node) => {
    const r = node.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit === node || node.contains(hit) || (hit instanceof HTMLLabelElement && hit.contains(node));
  });
  expect(onTop).toBe(true);
}

describe('captions in the embedded player (hls.js)', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let browser: Browser;
  let site: Server;
  let id = '';

  beforeAll(async () => {
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(hostPage(t.url, id)));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const sitePort = (site.address() as AddressInfo).port;
    t = await startTestApp({ roles: ['api'], env: { CORS_ORIGINS: `http://localhost:${sitePort}` } });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    id = await seedPlayableVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'owner', durationSec: 2.5 });
    const [owner, mod] = await Promise.all([tokenFor('owner', 'uploader'), tokenFor('m', 'moderator')]);
    const put = await fetch(`${t.url}/api/videos/${id}/captions/en?label=English`, {
      method: 'PUT',
      headers: { ...bearer(owner), 'content-type': 'text/vtt' },
      body: CAPTIONS,
    });
    expect(put.status).toBe(200);
    for (const path of [`/api/moderation/videos/${id}/approve`, `/api/moderation/videos/${id}/captions/en/approve`]) {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { ...bearer(mod), 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(200);
    }
    browser = await launchChromium();
    site.on('request', () => undefined);
    (globalThis as { __sitePort?: number }).__sitePort = sitePort;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await sql?.end();
    await t?.close();
    await new Promise((r) => site?.close(r));
  });

  it('plays, lists the subtitle group, shows a cue after `c`, and keeps the captions menu visible at desktop and 375 px', async () => {
    const port = (globalThis as { __sitePort?: number }).__sitePort!;
    const { page, problems, context } = await openPage(browser, `http://localhost:${port}/`);
    const iframe = await page.waitForSelector('iframe');
    const frame = (await iframe.contentFrame())!;
    await frame.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.3, undefined, { timeout: 30_000 });
    // hls.js read the SUBTITLES group from the signed master.
    const tracks = await frame.evaluate(() =>
      (window as unknown as { __hls?: { subtitleTracks: Array<{ lang?: string; name: string }> } }).__hls?.subtitleTracks.map((s) => [
        s.lang,
        s.name,
      ]),
    );
    expect(tracks).toEqual([['en', 'English']]);
    expect(await frame.evaluate(() => document.getElementById('player')?.dataset['captions'])).toBe('off');
    await frame.evaluate(() => {
      const v = document.querySelector('video')!;
      v.pause();
      v.currentTime = 1.8;
    });
    await frame.press('#player', 'c');
    await frame.waitForFunction(() => document.getElementById('player')?.dataset['captions'] === 'en');
    // The second cue (1.3–2.4 s) is the active one at 1.8 s: cue times line up with the picture.
    await frame.waitForFunction(
      () =>
        Array.from(document.querySelector('video')!.textTracks).some(
          (tr) => tr.mode === 'showing' && Array.from(tr.activeCues ?? []).some((c) => (c as VTTCue).text === 'Bye now'),
        ),
      undefined,
      { timeout: 20_000 },
    );
    const box = (await iframe.boundingBox())!;
    await expectControlsVisible(frame, box);
    await expectCaptionsControlVisible(frame, box);
    await screenshot(page, 'captions-embed-desktop');
    await page.setViewportSize(PHONE);
    await frame.waitForFunction((w) => window.innerWidth === w, PHONE.width);
    const phoneBox = (await iframe.boundingBox())!;
    await expectControlsVisible(frame, phoneBox);
    await expectCaptionsControlVisible(frame, phoneBox);
    await screenshot(page, 'captions-embed-phone');
    // `c` again turns them off.
    await frame.press('#player', 'c');
    await frame.waitForFunction(() => Array.from(document.querySelector('video')!.textTracks).every((tr) => tr.mode !== 'showing'));
    expect(problems).toEqual([]);
    await context.close();
  });

  it('lets a moderator read a pending caption on the moderation page and reject it with notes', async () => {
    const owner = await tokenFor('owner', 'uploader');
    const srt = '1\n00:00:00,000 --> 00:00:01,000\n<i>Hallo</i> <script>x</script>\n';
    const refused = await fetch(`${t.url}/api/videos/${id}/captions/de`, {
      method: 'PUT',
      headers: { ...bearer(owner), 'content-type': 'application/x-subrip' },
      body: srt,
    });
    expect(refused.status).toBe(422);
    const put = await fetch(`${t.url}/api/videos/${id}/captions/de?label=Deutsch`, {
      method: 'PUT',
      headers: { ...bearer(owner), 'content-type': 'application/x-subrip' },
      body: srt.replace(' <script>x</script>', ' & <b>Tschüss</b>'),
    });
    expect(put.status).toBe(200);
    const mod = await tokenFor('m', 'moderator', { ttlSec: 900 });
    const { page, problems, context } = await openPage(browser, `${t.url}/moderate?access_token=${mod}`);
    const item = page.locator(`[data-caption="${id}/de"]`);
    await item.waitFor({ timeout: 15_000 });
    expect(await item.locator('strong').textContent()).toBe('Playable — Deutsch (de)');
    await item.locator('summary').click();
    await expect.poll(() => item.locator('pre').textContent()).toContain('<i>Hallo</i> &amp; <b>Tschüss</b>');
    await screenshot(page, 'captions-moderate-desktop');
    await page.setViewportSize(PHONE);
    await screenshot(page, 'captions-moderate-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await item.locator('button.reject').click();
    expect(await item.locator('.hint').textContent()).toBe('Write why, then reject.');
    await item.locator('input').fill('Spelling');
    await item.locator('button.reject').click();
    await expect
      .poll(async () => (await sql`SELECT status FROM video_captions WHERE video_id = ${id} AND lang = 'de'`)[0]?.['status'])
      .toBe('rejected');
    await page.waitForFunction(() => document.body.dataset['captionQueue'] === '0', undefined, { timeout: 15_000 });
    expect(problems).toEqual([]);
    await context.close();
  });
});
