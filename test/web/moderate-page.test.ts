import postgres from 'postgres';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { tokenFor } from '../helpers/auth.ts';
import { launchChromium } from '../helpers/browser.ts';
import { seedVideo, writePackage } from '../helpers/seed.ts';
import { openPage, PHONE, screenshot } from './harness.ts';

/** The moderator's day with videos that are still transcoding: what they can do now, and what opens by itself. */
describe('moderator page with videos still processing', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let repo: VideoRepository;
  let storage: LocalDiskStorage;
  let browser: Browser;
  let modToken: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    repo = new VideoRepository(sql);
    storage = new LocalDiskStorage({ root: t.config.publishDir });
    browser = await launchChromium();
    modToken = await tokenFor('mod-1', 'moderator', { ttlSec: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    await sql?.end();
    await t?.close();
  });

  /** A video mid-transcode whose first segments are out: it is in the queue and previews. */
  async function processingVideo(title: string): Promise<string> {
    const id = await seedVideo(sql, storage, { uploaderId: 'parent-9', status: 'processing', title });
    await writePackage(storage, id);
    await repo.markPreviewable(id, { hlsPrefix: `hls/${id}`, masterKey: `hls/${id}/master.m3u8` });
    return id;
  }

  it('says why Approve waits, opens it when the video becomes ready, and rejects while processing', async () => {
    // The same parent's earlier video, already rejected: the moderator sees it beside the new one.
    const earlier = await seedVideo(sql, storage, { uploaderId: 'parent-9', title: 'Earlier clip' });
    await sql`UPDATE videos SET moderation_status = 'rejected', moderation_notes = 'Shows a phone number' WHERE id = ${earlier}`;
    const live = await processingVideo('Still encoding');
    const { page, context } = await openPage(browser, `${t.url}/moderate?access_token=${modToken}`);
    await page.waitForFunction(() => document.body.dataset['previewing'] !== undefined);
    const row = page.locator(`#item-${live} .meta`);
    await expect.poll(() => row.textContent()).toContain('processing 42%');
    expect(await page.isDisabled('#approve')).toBe(true);
    expect(await page.isEnabled('#reject')).toBe(true);
    expect(await page.textContent('#decision-hint')).toContain('42%');
    // Technical facts, the uploader's history, and the usual reasons one click away.
    await expect.poll(() => page.textContent('#tech')).toContain('Virus scan');
    expect(await page.textContent('#tech')).toContain('not scanned yet');
    await expect.poll(() => page.textContent('#history')).toContain('Earlier clip — rejected: Shows a phone number');
    expect(await page.textContent('#history-uploader')).toBe('parent-9');
    await page.locator('.preset').nth(1).click();
    expect(await page.inputValue('#notes')).toMatch(/^Shows personal information/);
    await page.fill('#notes', '');
    // Pressing `a` says why nothing happened.
    await page.locator(`#item-${live}`).focus();
    await page.keyboard.press('a');
    await expect.poll(() => page.textContent('#status')).toContain('Approve opens when processing finishes');
    await screenshot(page, 'moderate-processing-desktop');

    // The transcode goes on: the row follows it, then the video turns ready and Approve opens without a reselect.
    await repo.setProgress(live, 'transcode', 77);
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('processing 77%');
    await repo.markReady(live, { hlsPrefix: `hls/${live}`, masterKey: `hls/${live}/master.m3u8`, renditions: [] });
    await expect.poll(() => page.isEnabled('#approve'), { timeout: 15_000 }).toBe(true);
    expect(await row.textContent()).not.toContain('processing');
    expect(await page.textContent('#decision-hint')).toBe('');

    // Another one is rejected while it is still processing.
    const bad = await processingVideo('Obviously bad');
    await page.click(`#item-${bad}`, { timeout: 15_000 });
    expect(await page.isDisabled('#approve')).toBe(true);
    await page.fill('#notes', 'Not suitable for children');
    await page.click('#reject');
    await expect.poll(() => page.textContent('#status')).toContain('Rejected “Obviously bad”');
    expect((await repo.get(bad))?.moderation_status).toBe('rejected');
    expect((await repo.get(bad))?.status).toBe('processing');
    await page.setViewportSize(PHONE);
    await screenshot(page, 'moderate-processing-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await context.close();
  });
});
