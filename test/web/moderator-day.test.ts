import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { tokenFor } from '../helpers/auth.ts';
import { launchChromium } from '../helpers/browser.ts';
import { seedVideo, writePackage } from '../helpers/seed.ts';
import { DESKTOP, openPage, PHONE, screenshot } from './harness.ts';

/** How long a page may take to show what a request changed (a loaded CI box; the condition is polled). */
const SOON = { timeout: 15_000 } as const;

/** Each selector is rendered, inside the viewport's width, and not covered by something else at its centre. */
async function expectVisible(page: Page, selectors: readonly string[]): Promise<void> {
  for (const sel of selectors) {
    const el = page.locator(sel).first();
    await el.scrollIntoViewIfNeeded();
    expect(await el.isVisible(), sel).toBe(true);
    const box = await el.boundingBox();
    const width = page.viewportSize()!.width;
    expect(box && box.x >= 0 && box.x + box.width <= width + 1, `${sel} inside the viewport`).toBe(true);
    const onTop = await el.evaluate((node) => {
      const r = node.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit === node || node.contains(hit) || (hit instanceof HTMLLabelElement && hit.control === node);
    });
    expect(onTop, `${sel} not covered`).toBe(true);
  }
}

/** The moderator's day with many videos (filters, bulk decisions, undo), and the uploader's edit afterwards. */
describe('moderator page: filters, bulk decisions and undo; uploader page: edit', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let repo: VideoRepository;
  let storage: LocalDiskStorage;
  let browser: Browser;
  let modToken: string;

  beforeAll(async () => {
    // A window a loaded box cannot outrun between a decision and the click on Undo (the API test covers the 10 s).
    t = await startTestApp({ roles: ['api'], env: { MODERATION_UNDO_WINDOW_SEC: '60' } });
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

  const seed = (title: string, uploaderId: string): Promise<string> => seedVideo(sql, storage, { uploaderId, title });
  const shownTitles = (page: Page): Promise<string[]> => page.locator('#queue .queue-item strong').allTextContents();

  it('filters the queue, decides a selection at once with one note, and undoes a decision', async () => {
    const ids = {
      picnic: await seed('Zoo picnic', 'parent-1'),
      swing: await seed('Swing park', 'parent-2'),
      zoo2: await seed('Zoo again', 'parent-2'),
      cake: await seed('Birthday cake', 'parent-1'),
    };
    const busy = await seedVideo(sql, storage, { uploaderId: 'parent-2', status: 'processing', title: 'Zoo encoding' });
    await writePackage(storage, busy);
    await repo.markPreviewable(busy, { hlsPrefix: `hls/${busy}`, masterKey: `hls/${busy}/master.m3u8` });
    const { page, context, problems } = await openPage(browser, `${t.url}/moderate?access_token=${modToken}`);
    await expect.poll(() => shownTitles(page), SOON).toEqual(['Zoo picnic', 'Swing park', 'Zoo again', 'Birthday cake', 'Zoo encoding']);

    // Filters: title text, then uploader, status and order; each narrows what the server sends.
    await page.fill('#f-q', 'zoo');
    await expect.poll(() => shownTitles(page), SOON).toEqual(['Zoo picnic', 'Zoo again', 'Zoo encoding']);
    await page.fill('#f-uploader', 'parent-2');
    await expect.poll(() => shownTitles(page), SOON).toEqual(['Zoo again', 'Zoo encoding']);
    await page.selectOption('#f-status', 'ready');
    await expect.poll(() => shownTitles(page), SOON).toEqual(['Zoo again']);
    await page.fill('#f-q', 'nothing like this');
    await expect.poll(() => page.textContent('#empty'), SOON).toBe('No video matches these filters.');
    await page.fill('#f-q', '');
    await page.fill('#f-uploader', '');
    await page.selectOption('#f-status', '');
    await page.selectOption('#f-order', 'newest');
    await expect.poll(() => shownTitles(page), SOON).toEqual(['Zoo encoding', 'Birthday cake', 'Zoo again', 'Swing park', 'Zoo picnic']);

    // Selection: a click on a box, shift-click for a range, `x` on the current item.
    await page.click(`#item-${ids.cake} .pick`);
    await page.click(`#item-${ids.swing} .pick`, { modifiers: ['Shift'] });
    await expect.poll(() => page.textContent('#bulk-count'), SOON).toBe('3 selected');
    await page.click(`#item-${ids.picnic}`);
    await page.locator(`#item-${ids.picnic}`).focus();
    await page.keyboard.press('x');
    await page.click(`#item-${busy} .pick`);
    await expect.poll(() => page.textContent('#bulk-count'), SOON).toBe('5 selected');
    await page.keyboard.press('x'); // picnic is the current item: off again
    await expect.poll(() => page.textContent('#bulk-count'), SOON).toBe('4 selected');
    await expectVisible(page, ['#bulk-approve', '#bulk-reject', '#bulk-notes', '#f-q', '#f-status', `#item-${busy} .pick`]);
    await screenshot(page, 'moderate-bulk-desktop');
    await page.setViewportSize(PHONE);
    await expectVisible(page, ['#bulk-approve', '#bulk-reject', '#bulk-notes', '#f-q', '#f-order', `#item-${busy} .pick`]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'moderate-bulk-phone');
    await page.setViewportSize(DESKTOP);

    // Approve the four: the one still encoding cannot be, says why, and stays selected; the others go.
    await page.click('#bulk-approve');
    await expect.poll(() => page.textContent('#status'), SOON).toContain('Approved 3 videos.');
    expect(await page.textContent('#status')).toContain('“Zoo encoding” — This video has not finished processing');
    await expect.poll(() => shownTitles(page), SOON).toEqual(['Zoo encoding', 'Zoo picnic']);
    expect(await page.textContent('#bulk-count')).toBe('1 selected');
    for (const id of [ids.cake, ids.zoo2, ids.swing]) expect((await repo.get(id))?.moderation_status).toBe('approved');

    // Undo brings the three back; the API revoked their links and recorded it.
    expect(await page.isVisible('#undo-button')).toBe(true);
    expect(await page.textContent('#undo-button')).toMatch(/^Undo \(\d+ s\)$/);
    await screenshot(page, 'moderate-undo-desktop');
    await page.click('#undo-button');
    await expect.poll(() => page.textContent('#status'), SOON).toContain('3 videos are back in the queue');
    await expect.poll(() => shownTitles(page), SOON).toHaveLength(5);
    for (const id of [ids.cake, ids.zoo2, ids.swing]) expect((await repo.get(id))?.moderation_status).toBe('pending');
    expect(await page.isHidden('#undo')).toBe(true);

    // Rejecting a selection needs the shared note; it goes to every uploader.
    await page.check('#select-all');
    await expect.poll(() => page.textContent('#bulk-count'), SOON).toBe('5 selected');
    await page.click('#bulk-reject');
    await expect.poll(() => page.textContent('#status'), SOON).toContain('Write a note for the uploaders');
    await page.fill('#bulk-notes', 'Shows a car number plate');
    await page.click('#bulk-reject');
    await expect.poll(() => page.textContent('#status'), SOON).toContain('Rejected 5 videos.');
    await expect.poll(() => page.isVisible('#empty'), SOON).toBe(true);
    const notes = await sql<Array<{ moderation_notes: string }>>`SELECT moderation_notes FROM videos WHERE moderation_status = 'rejected'`;
    expect(notes.map((n) => n.moderation_notes)).toEqual(Array(5).fill('Shows a car number plate'));
    // `u` undoes too.
    await page.locator('body').press('u');
    await expect.poll(() => shownTitles(page), SOON).toHaveLength(5);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('lets an uploader edit a video from "My videos"; a published one goes back to review', async () => {
    const id = await seed('Garden party', 'parent-7');
    await sql`UPDATE videos SET moderation_status = 'approved' WHERE id = ${id}`;
    const token = await tokenFor('parent-7', 'uploader', { ttlSec: 900 });
    const { page, context, problems } = await openPage(browser, `${t.url}/upload?access_token=${token}`, PHONE);
    await expect.poll(() => page.locator('.my-video strong').allTextContents(), SOON).toEqual(['Garden party']);
    await page.click('.my-video .edit');
    await expect.poll(() => page.isVisible('#edit-dialog'), SOON).toBe(true);
    expect(await page.inputValue('#edit-title')).toBe('Garden party');
    expect(await page.isVisible('#edit-review-hint')).toBe(true);
    await page.fill('#edit-title', '   ');
    await page.click('#edit-save');
    await expect.poll(() => page.textContent('#edit-error'), SOON).toBe('Give the video a title.');
    await page.fill('#edit-title', 'Garden party with grandma');
    await page.fill('#edit-description', 'Sunny afternoon');
    await expectVisible(page, ['#edit-title', '#edit-description', '#edit-save', '#edit-cancel']);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'upload-edit-phone');
    await page.setViewportSize(DESKTOP);
    await screenshot(page, 'upload-edit-desktop');
    await page.click('#edit-save');
    await expect.poll(() => page.textContent('#status'), SOON).toContain('A moderator reviews the new text');
    expect(await page.isHidden('#edit-dialog')).toBe(true);
    await expect.poll(() => page.locator('.my-video').textContent(), SOON).toContain('Garden party with grandma');
    expect(await page.locator('.my-video .meta').textContent()).toContain('Waiting for review');
    const v = await repo.get(id);
    expect([v?.title, v?.description, v?.moderation_status]).toEqual(['Garden party with grandma', 'Sunny afternoon', 'pending']);
    expect(problems).toEqual([]);
    await context.close();
  });
});
