import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ffmpegQuiet } from '../helpers/media.ts';

/** Screenshots go here (gitignored) so a human can look at the pages after a run. */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

export const PHONE = { width: 375, height: 740 } as const;
export const DESKTOP = { width: 1280, height: 860 } as const;

/** A page plus every console error, CSP violation and uncaught exception it produced. */
export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly problems: string[];
}

export async function openPage(browser: Browser, url: string, viewport: { width: number; height: number } = DESKTOP): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused resource shows up as a console error; CSP violations too ("Refused to … Content Security Policy").
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return { page, context, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** ~4.5 MB 3 s 640x360 clip: per-frame noise at 10 Mbit/s keeps it big enough to interrupt mid-upload. */
export async function makeNoisyClip(out: string): Promise<string> {
  await ffmpegQuiet([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30:duration=3,noise=alls=40:allf=t',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=3',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-b:v',
    '10M',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    out,
  ]);
  return out;
}

/** A poster and a 2-tile storyboard sprite (160x90 tiles) plus its WebVTT, as the packager will publish them. */
export async function writePosterAndStoryboard(dir: string, sig: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await ffmpegQuiet(['-f', 'lavfi', '-i', 'testsrc2=size=640x360', '-frames:v', '1', path.join(dir, 'poster.jpg')]);
  await ffmpegQuiet(['-f', 'lavfi', '-i', 'testsrc2=size=320x90', '-frames:v', '1', path.join(dir, 'sprite.jpg')]);
  const cue = (from: string, to: string, x: number) => `${from} --> ${to}\nsprite.jpg?sig=${sig}#xywh=${x},0,160,90\n`;
  await writeFile(
    path.join(dir, 'storyboard.vtt'),
    `WEBVTT\n\n${cue('00:00:00.000', '00:00:01.500', 0)}\n${cue('00:00:01.500', '00:00:03.000', 160)}`,
  );
}

/** Upload settings the page reads from its form's data attributes (production defaults live in upload.html). */
export async function setUploadForm(
  page: Page,
  o: { chunkBytes?: number; parallelMinBytes?: number; parallelStreams?: number },
): Promise<void> {
  await page.evaluate((s) => {
    const form = document.getElementById('upload-form')!;
    for (const [k, v] of Object.entries(s)) if (v !== undefined) form.dataset[k] = String(v);
  }, o);
}

/** What the page says to the tus endpoint: stored chunks, HEAD offsets (resume points) and creation POSTs. */
export interface TusTraffic {
  patches: number;
  readonly offsets: number[];
  /** Upload-Concat header of each POST ("single" when none). */
  readonly creations: string[];
  /** Holds each PATCH back by `ms` so a test can act between chunks; `release()` stops that. */
  release(): Promise<void>;
}

export async function watchTus(page: Page, holdPatchMs: number): Promise<TusTraffic> {
  const traffic: TusTraffic = {
    patches: 0,
    offsets: [],
    creations: [],
    release: () => page.unroute('**/uploads/**'),
  };
  await page.route('**/uploads/**', async (route) => {
    if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, holdPatchMs));
    await route.continue().catch(() => undefined); // the page may have been reloaded meanwhile
  });
  page.on('request', async (r) => {
    if (r.method() === 'POST' && r.url().includes('/uploads')) traffic.creations.push((await r.allHeaders())['upload-concat'] ?? 'single');
  });
  page.on('response', (r) => {
    const method = r.request().method();
    if (method === 'PATCH' && r.status() === 204) traffic.patches++;
    if (method === 'HEAD' && r.url().includes('/uploads/')) traffic.offsets.push(Number(r.headers()['upload-offset']));
  });
  return traffic;
}

/** The player controls a viewer needs on every screen size. */
export const ESSENTIAL_CONTROLS = ['play', 'seek', 'mute', 'quality', 'fullscreen'] as const;

/**
 * Each essential control of the player in `frame` is visible to a person: rendered, inside `box` (the iframe or the
 * viewport, in page coordinates), not covered by anything at its centre, and all of them on one row.
 */
export async function expectControlsVisible(
  frame: import('playwright-core').Frame,
  box: { x: number; y: number; width: number; height: number },
): Promise<void> {
  const tops: number[] = [];
  for (const role of ESSENTIAL_CONTROLS) {
    const el = frame.locator(`[data-role="${role}"]`);
    const b = await el.boundingBox();
    if (!b) throw new Error(`control ${role} has no box`);
    const inside =
      b.x >= box.x - 1 && b.y >= box.y - 1 && b.x + b.width <= box.x + box.width + 1 && b.y + b.height <= box.y + box.height + 1;
    const onTop = await el.evaluate((node) => {
      const r = node.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit === node || node.contains(hit) || (hit instanceof HTMLLabelElement && hit.contains(node));
    });
    if (!(await el.isVisible()) || !inside || !onTop)
      throw new Error(`control ${role} not visible: ${JSON.stringify({ b, box, inside, onTop })}`);
    tops.push(b.y + b.height / 2);
  }
  // One row: every control's centre within a few pixels of the others'.
  if (Math.max(...tops) - Math.min(...tops) > 8) throw new Error(`controls wrap to more than one row: ${tops.join(', ')}`);
}
