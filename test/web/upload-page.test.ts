import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAudioOnly } from '../helpers/media-fixtures.ts';
import { startTestApp, waitFor, type TestApp } from '../helpers/app.ts';
import { tokenFor } from '../helpers/auth.ts';
import { launchChromium } from '../helpers/browser.ts';
import { makeNoisyClip, openPage, PHONE, screenshot, setUploadForm, watchTus } from './harness.ts';

const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

describe('upload and moderator pages in Chromium: refused files, a flaky network, missing rights', () => {
  let t: TestApp;
  let browser: Browser;
  let tmp: string;
  let uploaderToken: string;
  let noisy: string;

  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pages-net-'));
    noisy = await makeNoisyClip(path.join(tmp, 'noisy.mp4'));
    browser = await launchChromium();
    uploaderToken = await tokenFor('parent-1', 'uploader', { ttlSec: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('shows the error code for a non-video upload and for a file over the size limit, on a phone-sized screen', async () => {
    const audio = await makeAudioOnly(tmp);
    const big = path.join(tmp, 'huge.mp4');
    await writeFile(big, '');
    await truncate(big, MAX_UPLOAD_BYTES + 1);
    const { page, problems, context } = await openPage(browser, `${t.url}/upload?access_token=${uploaderToken}`, PHONE);
    await page.setInputFiles('#file', audio);
    await page.fill('#title', 'Just a song');
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset['errorCode'] === 'INGEST_NOT_VIDEO', undefined, { timeout: 60_000 });
    expect(await page.locator('#error').textContent()).toContain('INGEST_NOT_VIDEO');
    await screenshot(page, 'upload-error-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

    await page.goto(`${t.url}/upload`); // token comes from sessionStorage now
    await page.setInputFiles('#file', big);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset['errorCode'] === 'INGEST_TOO_LARGE', undefined, { timeout: 20_000 });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('pauses and resumes, and continues an upload after the network drops and comes back', async () => {
    const clip = noisy;
    const token = await tokenFor('parent-3', 'uploader', { ttlSec: 900 });
    const { page, problems, context } = await openPage(browser, `${t.url}/upload?access_token=${token}`);
    await setUploadForm(page, { chunkBytes: 512 * 1024 });
    const tusTraffic = await watchTus(page, 200);
    await page.setInputFiles('#file', clip);
    await page.fill('#title', 'Flaky network clip');
    await page.click('#start');
    await waitFor(async () => (tusTraffic.patches >= 2 ? true : undefined), { timeoutMs: 30_000, what: 'two chunks stored' });
    // Pause stops sending; Resume asks the server for the offset and carries on.
    await page.click('#pause');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Paused') === true);
    expect(await page.locator('#pause').textContent()).toBe('Resume');
    // Paused: what was sent stays, speed and time left go.
    expect(await page.textContent('#rate')).toMatch(/ of .* · paused$/);
    const pausedAt = tusTraffic.patches;
    await page.click('#pause');
    await waitFor(async () => (tusTraffic.patches > pausedAt ? true : undefined), { timeoutMs: 20_000, what: 'a chunk after resume' });
    let failed = 0;
    page.on('requestfailed', (r) => {
      if (r.method() === 'PATCH') failed++;
    });
    await context.setOffline(true);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Offline') === true);
    await waitFor(async () => (failed > 0 ? true : undefined), { timeoutMs: 20_000, what: 'a PATCH failing offline' });
    await context.setOffline(false);
    await tusTraffic.release();
    await page.waitForFunction(() => document.body.dataset['videoId'], undefined, { timeout: 60_000 });
    // One creation only; after the drop tus-js-client asked the server where to continue.
    expect(tusTraffic.creations).toEqual(['single']);
    // HEADs after the pause and after the drop: both found every chunk stored before them.
    expect(tusTraffic.offsets.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...tusTraffic.offsets)).toBeGreaterThanOrEqual(2 * 512 * 1024);
    expect(problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
    await context.close();
  });

  it('the moderator page without a token says so; an uploader may not use it', async () => {
    const anon = await openPage(browser, `${t.url}/moderate`);
    expect(await anon.page.locator('#error').textContent()).toContain('AUTH_MISSING_TOKEN');
    await anon.context.close();
    const upl = await openPage(browser, `${t.url}/moderate?access_token=${uploaderToken}`);
    await upl.page.waitForFunction(() => document.getElementById('error')?.textContent?.includes('AUTH_FORBIDDEN'));
    await upl.context.close();
  });
});
