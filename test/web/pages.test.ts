import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlaybackSigner } from '../../api/playback/signing.ts';
import { startTestApp, waitFor, type TestApp } from '../helpers/app.ts';
import { bearer, TEST_PLAYBACK_KEY, tokenFor } from '../helpers/auth.ts';
import { launchChromium } from '../helpers/browser.ts';
import {
  expectControlsVisible,
  makeNoisyClip,
  openPage,
  PHONE,
  screenshot,
  setUploadForm,
  watchTus,
  writePosterAndStoryboard,
} from './harness.ts';

/** A third-party site that embeds videos with our embed script. */
const hostPage = (api: string, id: string) => `<!doctype html><html><body><h1>Partner site</h1>
<div data-kidstream-video="${id}" data-autoplay="1" data-title="Kids clip"></div>
<script src="${api}/player/embed.js"></script></body></html>`;

describe('web pages in Chromium: upload → moderate → play', () => {
  let t: TestApp;
  let browser: Browser;
  let tmp: string;
  let site: Server;
  let sitePort = 0;
  let videoId = '';
  let uploaderToken: string;
  let modToken: string;
  let noisy: string;

  beforeAll(async () => {
    site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(hostPage(t.url, videoId)));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    sitePort = (site.address() as AddressInfo).port;
    t = await startTestApp({ env: { CORS_ORIGINS: `http://localhost:${sitePort}` } });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pages-'));
    noisy = await makeNoisyClip(path.join(tmp, 'noisy.mp4'));
    browser = await launchChromium();
    uploaderToken = await tokenFor('parent-1', 'uploader', { ttlSec: 900 });
    modToken = await tokenFor('mod-1', 'moderator', { ttlSec: 900 });
  });
  /** The signature of a fresh public playback URL, as the API hands it to any viewer of the approved video. */
  async function publicSig(): Promise<string> {
    const pb = (await (await fetch(`${t.url}/api/playback/${videoId}`)).json()) as { url: string };
    return new URL(pb.url, t.url).searchParams.get('sig')!;
  }

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((r) => site?.close(r));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('uploads through the page, resumes after a reload mid-upload, and the moderator page shows and approves it', async () => {
    const clip = noisy;
    const mod = await openPage(browser, `${t.url}/moderate?access_token=${modToken}`);
    await mod.page.waitForFunction(() => document.body.dataset['queueSize'] === '0');

    const up = await openPage(browser, `${t.url}/upload?access_token=${uploaderToken}`);
    const { page } = up;
    // The token moved to sessionStorage and left the address bar.
    expect(page.url()).not.toContain('access_token');
    // Small chunks, each PATCH held back, so the reload lands between chunks of a running upload.
    await setUploadForm(page, { chunkBytes: 512 * 1024 });
    const tusTraffic = await watchTus(page, 250);
    await page.setInputFiles('#file', clip);
    await page.fill('#title', 'Noisy clip');
    await page.fill('#description', 'Uploaded by the page test');
    await page.click('#start');
    await waitFor(async () => (tusTraffic.patches >= 3 ? true : undefined), { timeoutMs: 30_000, what: 'three chunks stored' });
    await screenshot(page, 'upload-in-progress-desktop');
    expect(tusTraffic.creations).toEqual(['single']);
    await page.reload();
    await page.locator('#resume-hint').waitFor();
    // What the user typed before the reload came back with the stored upload.
    expect(await page.inputValue('#title')).toBe('Noisy clip');
    expect(await page.inputValue('#description')).toBe('Uploaded by the page test');
    await tusTraffic.release();
    await page.evaluate(() => {
      const log: string[] = ((window as unknown as { statusLog: string[] }).statusLog = []);
      const el = document.getElementById('status')!;
      new MutationObserver(() => log.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.setInputFiles('#file', clip);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset['videoStatus'] === 'ready', undefined, { timeout: 90_000 });
    // The page narrated the pipeline: upload percentages, then at least one processing stage.
    const log = await page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);
    expect(log).toContain('Resuming your earlier upload…');
    expect(log.some((l) => /^(Uploaded\. Waiting|Checking|Removing|Analysing|Converting|Packaging|Finishing)/.test(l))).toBe(true);
    // Resumed: the HEAD found the bytes stored before the reload, and no second upload was created.
    expect(tusTraffic.offsets[0]).toBeGreaterThanOrEqual(3 * 512 * 1024);
    expect(tusTraffic.creations).toEqual(['single']);
    videoId = (await page.evaluate(() => document.body.dataset['videoId']))!;
    expect(await page.locator('#status').textContent()).toContain('moderator will review');
    // The upload is done with: the form is locked (no duplicate by a second press), the unfinished-upload hint is gone,
    // and the video is in "my videos", waiting for review.
    expect(await page.isDisabled('#start')).toBe(true);
    expect(await page.isVisible('#another')).toBe(true);
    expect(await page.isVisible('#resume-hint')).toBe(false);
    const mine = page.locator(`.my-video[data-id="${videoId}"]`);
    await expect.poll(() => mine.textContent(), { timeout: 10_000 }).toContain('Waiting for review');
    await screenshot(page, 'upload-ready-desktop');

    // The moderator page picked the video up by polling, without a reload.
    const item = mod.page.locator(`#item-${videoId}`);
    await item.waitFor({ timeout: 15_000 });
    expect(await item.textContent()).toContain('Noisy clip');
    expect(await item.textContent()).toContain('parent-1');
    await mod.page.waitForFunction(() => (window as unknown as { __hls?: { levels: unknown[] } }).__hls?.levels.length === 2);
    await mod.page.keyboard.press('j');
    expect(await mod.page.evaluate(() => document.activeElement?.id)).toBe(`item-${videoId}`);
    await mod.page.keyboard.press('p'); // play the preview
    await mod.page.waitForFunction(() => (document.querySelector('#preview video') as HTMLVideoElement).currentTime > 0.5, undefined, {
      timeout: 30_000,
    });
    await screenshot(mod.page, 'moderate-desktop');
    await mod.page.setViewportSize(PHONE);
    await screenshot(mod.page, 'moderate-phone');
    expect(await mod.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    // Reject without notes is refused in the page; approve with `a` goes through.
    await mod.page.click('#reject');
    expect(await mod.page.evaluate(() => document.activeElement?.id)).toBe('notes');
    // The moderator page learns "ready" from its own poll, which may come after the upload page's: `a` on a video
    // still processing only says why approve is closed, so wait for the button to open.
    await mod.page.waitForFunction(() => !(document.getElementById('approve') as HTMLButtonElement).disabled, undefined, {
      timeout: 30_000,
    });
    await mod.page.locator(`#item-${videoId}`).focus();
    await mod.page.keyboard.press('a');
    await mod.page.waitForFunction(() => document.body.dataset['queueSize'] === '0');
    const v = (await (await fetch(`${t.url}/api/videos/${videoId}`, { headers: bearer(modToken) })).json()) as {
      moderation: { status: string; by: string };
    };
    expect(v.moderation).toMatchObject({ status: 'approved', by: 'mod-1' });
    // Back on the upload page: the video is published, with the code to embed it elsewhere; "upload another" clears
    // the form for the next file.
    await page.reload();
    await expect.poll(() => mine.textContent(), { timeout: 10_000 }).toContain('Published');
    expect(await mine.locator('textarea').inputValue()).toContain(`data-kidstream-video="${videoId}"`);
    await page.click('#another');
    expect(await page.isEnabled('#start')).toBe(true);
    expect(await page.inputValue('#title')).toBe('');
    expect(await page.isVisible('#processing')).toBe(false);
    expect(page.url()).not.toContain('v=');
    await page.setViewportSize(PHONE);
    await screenshot(page, 'upload-mine-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(mod.problems).toEqual([]);
    expect(up.problems).toEqual([]);
    await mod.context.close();
    await up.context.close();
  });

  it('plays the approved video in the embed page, switches quality, and answers keyboard controls', async () => {
    expect(videoId).not.toBe('');
    const { page, problems, context } = await openPage(browser, `${t.url}/embed/${videoId}`);
    await page.waitForFunction(() => document.getElementById('player')?.dataset['levels'] === '2', undefined, { timeout: 30_000 });
    const options = await page.locator('[data-role="quality"] option').allTextContents();
    expect(options[0]).toBe('Auto');
    expect(options.slice(1).sort()).toEqual([expect.stringMatching(/^234p/), expect.stringMatching(/^360p/)]);
    await page.click('[data-role="play"]');
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 0.3, undefined, {
      timeout: 30_000,
    });
    for (const level of ['0', '1']) {
      await page.selectOption('[data-role="quality"]', level);
      await page.waitForFunction((l) => document.getElementById('player')?.dataset['level'] === l, level, { timeout: 20_000 });
      expect(await page.evaluate(() => (window as unknown as { __hls: { currentLevel: number } }).__hls.currentLevel)).toBe(Number(level));
    }
    const muted = await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).muted);
    await page.keyboard.press('m');
    expect(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).muted)).toBe(!muted);
    await page.keyboard.press('k');
    expect(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).paused)).toBe(true);
    // After a click on the seek bar the shortcuts still work, and ←/→ seek 5 s there too (not the range's 0.1 s step).
    const seek = (await page.locator('[data-role="seek"]').boundingBox())!;
    await page.mouse.click(seek.x + 2, seek.y + seek.height / 2);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime < 1);
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime)).toBeGreaterThan(2);
    // The clip is 3 s: → went to its end; ← comes back to the start, where k plays it again.
    await page.keyboard.press('ArrowLeft');
    expect(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime)).toBeLessThan(1);
    await page.keyboard.press('k');
    expect(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).paused)).toBe(false);
    await page.keyboard.press('k');
    // The title of the video shows over the paused picture; the big play button too.
    expect(await page.locator('[data-role="title"]').textContent()).toBe('Noisy clip');
    await expect.poll(() => page.locator('[data-role="big-play"]').isVisible()).toBe(true);
    await expectControlsVisible(page.mainFrame(), { x: 0, y: 0, ...page.viewportSize()! });
    await screenshot(page, 'player-desktop');
    await page.setViewportSize(PHONE);
    await expectControlsVisible(page.mainFrame(), { x: 0, y: 0, ...page.viewportSize()! });
    await screenshot(page, 'player-phone');
    // Nothing wider than the phone screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("falls back to the browser's own HLS when MSE is missing (as on iPhone Safari)", async () => {
    const context = await browser.newContext();
    // Without MediaSource hls.js reports itself unsupported; this Chromium plays HLS natively, as Safari does.
    await context.addInitScript(() => {
      for (const name of ['MediaSource', 'ManagedMediaSource', 'WebKitMediaSource']) Reflect.deleteProperty(window, name);
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${t.url}/embed/${videoId}?autoplay=1`);
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 30_000 });
    expect(
      await page.evaluate(() => ({
        usedHlsJs: (window as unknown as { __hls?: unknown }).__hls !== undefined,
        src: document.querySelector('video')!.src,
        qualityHidden: (document.querySelector('.quality') as HTMLElement).hidden,
      })),
    ).toEqual({ usedHlsJs: false, src: expect.stringContaining(`/hls/${videoId}/master.m3u8?sig=`), qualityHidden: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows the poster and storyboard thumbnails while scrubbing', async () => {
    const sig = await publicSig();
    await writePosterAndStoryboard(path.join(t.config.publishDir, 'hls', videoId), sig);
    const byId = await openPage(browser, `${t.url}/embed/${videoId}`);
    // The API hands out the signed URL of the poster the packager made (playback.posterUrl).
    await byId.page.waitForFunction(() => /\/poster\/poster-640\.jpg\?sig=/.test(document.querySelector('video')?.poster ?? ''));
    await byId.context.close();

    const sprites: number[] = [];
    const q = new URLSearchParams({
      src: `/hls/${videoId}/master.m3u8?sig=${sig}`,
      storyboard: `/hls/${videoId}/storyboard.vtt?sig=${sig}`,
    });
    const { page, problems, context } = await openPage(browser, `${t.url}/embed?${q}`);
    page.on('response', (r) => {
      if (r.url().includes('/sprite.jpg')) sprites.push(r.status());
    });
    await page.waitForFunction(
      () => {
        const p = document.getElementById('player')!;
        return p.dataset['storyboard'] === '2' && Number((document.querySelector('[data-role="seek"]') as HTMLInputElement).max) > 2;
      },
      undefined,
      { timeout: 30_000 },
    );
    const seek = page.locator('[data-role="seek"]');
    const box = (await seek.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    const thumb = page.locator('[data-role="thumb"]');
    await thumb.waitFor({ state: 'visible' });
    expect(await page.locator('[data-role="thumb-img"]').evaluate((e) => (e as HTMLElement).style.backgroundPosition)).toBe('-160px 0px');
    await waitFor(async () => (sprites.includes(200) ? true : undefined), { timeoutMs: 10_000, what: 'sprite image loaded' });
    await screenshot(page, 'player-storyboard-desktop');
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
    expect(await page.locator('[data-role="thumb-img"]').evaluate((e) => (e as HTMLElement).style.backgroundPosition)).toBe('0px 0px');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('renews an expired signed URL from /api/playback/:id and keeps playing', async () => {
    const signer = new PlaybackSigner({ key: TEST_PLAYBACK_KEY, ttlSec: 60, now: () => Date.now() - 3_600_000 });
    // Signed for the video's current access epoch (the third field of a fresh signature), only an hour ago.
    const epoch = Number((await publicSig()).split('.')[2]);
    const expired = `/hls/${videoId}/master.m3u8?sig=${signer.sign(videoId, { audience: 'public' }, epoch).sig}`;
    const codes: number[] = [];
    const { page, problems, context } = await openPage(browser, 'about:blank');
    page.on('response', (r) => {
      if (r.url().includes('/hls/')) codes.push(r.status());
    });
    await page.goto(`${t.url}/embed?src=${encodeURIComponent(expired)}&autoplay=1`);
    await page.waitForFunction(() => (document.querySelector('video') as HTMLVideoElement).currentTime > 0.5, undefined, {
      timeout: 30_000,
    });
    expect(codes[0]).toBe(403);
    expect(await page.evaluate(() => document.getElementById('player')?.dataset['renewed'])).toBe('1');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('embed.js on a partner site turns the div into a playing iframe', async () => {
    const { page, problems, context } = await openPage(browser, `http://localhost:${sitePort}/`);
    const iframe = await page.waitForSelector('iframe');
    expect(await iframe.getAttribute('src')).toBe(`${t.url}/embed/${videoId}?autoplay=1`);
    expect(await iframe.getAttribute('title')).toBe('Kids clip');
    const frame = await iframe.contentFrame();
    await frame!.waitForURL(`${t.url}/embed/${videoId}?autoplay=1`);
    await frame!.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 30_000 });
    // The partner's 16:9 box shows the player's controls inside it, on a desktop and on a phone.
    await expectControlsVisible(frame!, (await iframe.boundingBox())!);
    // A click on the picture pauses, the big play button resumes.
    const box = (await iframe.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 3);
    await frame!.waitForFunction(() => document.querySelector('video')!.paused);
    expect(await frame!.locator('[data-role="title"]').textContent()).toBe('Noisy clip');
    await screenshot(page, 'partner-embed-desktop');
    await frame!.click('[data-role="big-play"]');
    await frame!.waitForFunction(() => !document.querySelector('video')!.paused);
    await page.setViewportSize(PHONE);
    await expectControlsVisible(frame!, (await iframe.boundingBox())!);
    await screenshot(page, 'partner-embed-phone');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says so on the partner page when the partner site is not allowed to embed (instead of a browser error page)', async () => {
    // Same server, other origin: 127.0.0.1 is not the allowed http://localhost:<port>.
    const { page, context } = await openPage(browser, `http://127.0.0.1:${sitePort}/`);
    const note = page.locator('[data-kidstream-error="EMBED_NOT_ALLOWED"]');
    await note.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.locator('iframe').count()).toBe(0);
    await screenshot(page, 'partner-embed-refused');
    await context.close();
  });

  it('parallel upload (tus concatenation) resumes each stream after a reload', async () => {
    const clip = noisy;
    const token = await tokenFor('parent-2', 'uploader', { ttlSec: 900 });
    const { page, problems, context } = await openPage(browser, `${t.url}/upload?access_token=${token}`);
    await setUploadForm(page, { chunkBytes: 512 * 1024, parallelMinBytes: 0, parallelStreams: 2 });
    const tusTraffic = await watchTus(page, 250);
    await page.setInputFiles('#file', clip);
    await page.fill('#title', 'Parallel clip');
    await page.click('#start');
    await waitFor(async () => (tusTraffic.patches >= 4 ? true : undefined), { timeoutMs: 30_000, what: 'four chunks stored' });
    expect(tusTraffic.creations).toEqual(['partial', 'partial']);
    tusTraffic.creations.length = 0;
    tusTraffic.offsets.length = 0;
    await page.reload();
    await page.locator('#resume-hint').waitFor();
    await tusTraffic.release();
    // The page's own settings are back (single stream below 64 MB): the stored partial URLs alone make it parallel.
    await page.setInputFiles('#file', clip);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset['videoStatus'] === 'ready', undefined, { timeout: 90_000 });
    // Both partial uploads were found again (two HEADs, bytes already there); only the final concatenation was POSTed.
    expect(tusTraffic.offsets).toHaveLength(2);
    expect(tusTraffic.offsets[0]! + tusTraffic.offsets[1]!).toBeGreaterThanOrEqual(4 * 512 * 1024);
    expect(tusTraffic.creations).toEqual([expect.stringMatching(/^final;/)]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('rejects with notes from the keyboard (r, type, Ctrl+Enter) in the moderator page', async () => {
    const { page, problems, context } = await openPage(browser, `${t.url}/moderate?access_token=${modToken}`);
    await page.waitForFunction(() => document.body.dataset['queueSize'] === '1');
    const id = (await page.evaluate(() => document.body.dataset['previewing']))!;
    await page.keyboard.press('r');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('notes');
    expect(await page.inputValue('#notes')).toBe(''); // the shortcut key itself is not typed into the notes
    await page.keyboard.type('Shows a phone number');
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => document.body.dataset['queueSize'] === '0');
    expect(await page.locator('#status').textContent()).toContain('Rejected');
    const v = (await (await fetch(`${t.url}/api/videos/${id}`, { headers: bearer(modToken) })).json()) as {
      title: string;
      moderation: { status: string; notes: string };
    };
    expect(v).toMatchObject({ title: 'Parallel clip', moderation: { status: 'rejected', notes: 'Shows a phone number' } });
    expect(problems).toEqual([]);
    await context.close();
  });
});
