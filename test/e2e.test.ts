import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMediaPlaylist } from '../packager/media-playlist.ts';
import { startTestApp, waitFor, type TestApp } from './helpers/app.ts';
import { bearer, tokenFor } from './helpers/auth.ts';
import { launchChromium } from './helpers/browser.ts';
import { makeClip } from './helpers/media.ts';
import { tusUpload } from './helpers/tus-upload.ts';

const run = promisify(execFile);

interface VideoJson {
  status: string;
  playback: { url: string; scope: string } | null;
  renditions: Array<{ name: string; kind: string; width: number | null; height: number | null; bandwidth: number }>;
}

async function fetchOk(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`${url} → ${res.status}`);
  return res;
}

describe('walking skeleton: upload → HLS → play', () => {
  let t: TestApp;
  let tmp: string;
  let videoId: string;
  let modToken: string;
  let playbackUrl: string;

  beforeAll(async () => {
    t = await startTestApp();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-e2e-'));
    modToken = await tokenFor('mod-1', 'moderator', { ttlSec: 600 });
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('uploads a 4 s 640x360 clip with tus-js-client and transcodes it to a ready ladder', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 4, width: 640, height: 360 });
    const up = await tusUpload(`${t.url}/uploads`, clip, { filename: 'clip.mp4', title: 'Skeleton clip' });
    videoId = up.videoId;
    const video = await waitFor(
      async () => {
        const v = (await (await fetchOk(`${t.url}/api/videos/${videoId}`, bearer(modToken))).json()) as VideoJson;
        if (v.status === 'failed' || v.status === 'rejected') throw new Error(`video ${v.status}: ${JSON.stringify(v)}`);
        return v.status === 'ready' ? v : undefined;
      },
      { timeoutMs: 90_000, what: 'video ready' },
    );
    const videoRungs = video.renditions.filter((r) => r.kind === 'video');
    expect(videoRungs.map((r) => `${r.width}x${r.height}`).sort()).toEqual(['416x234', '640x360']);
    expect(video.renditions.some((r) => r.kind === 'audio')).toBe(true);
    // Not yet approved: the moderator gets a preview URL.
    expect(video.playback?.scope).toBe('preview');
    playbackUrl = `${t.url}${video.playback!.url}`;
    // The work dir is emptied after the job.
    expect(await readdir(t.config.workDir)).toEqual([]);
  });

  it('serves the signed master and every signed segment with HLS content types, and ffprobe reads them', async () => {
    const masterUrl = playbackUrl;
    const masterRes = await fetchOk(masterUrl);
    expect(masterRes.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const master = await masterRes.text();
    const uris = master.split('\n').filter((l) => l && !l.startsWith('#'));
    const audioUri = /URI="([^"]+)"/.exec(master)?.[1];
    expect(uris.length).toBe(2);
    expect(audioUri).toBeDefined();
    for (const uri of [...uris, audioUri!]) {
      // Every URI in the rewritten playlists carries the signature.
      expect(uri).toContain('sig=');
      const plUrl = new URL(uri, masterUrl).toString();
      const pl = parseMediaPlaylist(await (await fetchOk(plUrl)).text());
      expect(pl.endList).toBe(true);
      expect(pl.segments.length).toBeGreaterThan(0);
      const initRes = await fetchOk(new URL(pl.mapUri!, plUrl).toString());
      expect(initRes.headers.get('content-type')).toBe('video/mp4');
      const init = Buffer.from(await initRes.arrayBuffer());
      let total = 0;
      for (const seg of pl.segments) {
        const segRes = await fetchOk(new URL(seg.uri, plUrl).toString());
        expect(segRes.headers.get('content-type')).toBe('video/iso.segment');
        expect(seg.uri).toContain('sig=');
        const name = seg.uri.split('?')[0]!;
        const file = path.join(tmp, `probe-${path.basename(path.dirname(new URL(plUrl).pathname))}-${name}.mp4`);
        await writeFile(file, Buffer.concat([init, Buffer.from(await segRes.arrayBuffer())]));
        const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
        const streams = (JSON.parse(stdout) as { streams: Array<{ codec_name: string; codec_type: string }> }).streams;
        expect(streams).toHaveLength(1);
        expect(streams[0]!.codec_name).toBe(uri === audioUri ? 'aac' : 'h264');
        total += seg.duration;
      }
      expect(total).toBeGreaterThan(3.5);
      expect(total).toBeLessThan(4.6);
    }
  });

  it('plays in headless Chromium through hls.js until currentTime > 1 s', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${t.url}/?v=${videoId}&access_token=${encodeURIComponent(modToken)}`);
      await page.waitForFunction(
        () => {
          const v = document.querySelector('video');
          return v !== null && v.currentTime > 1;
        },
        undefined,
        { timeout: 60_000 },
      );
      const usedHlsJs = await page.evaluate(() => Boolean((window as unknown as { __hls?: unknown }).__hls));
      expect(usedHlsJs).toBe(true);
      expect(errors).toEqual([]);
      await page.screenshot({ path: path.join(tmp, 'player.png') });
    } finally {
      await browser.close();
    }
  });

  it('uploads through the player page (token from the API, then tus) until the page shows Ready', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'page.mp4'), durationSec: 2, width: 320, height: 180 });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const upToken = await tokenFor('page-uploader', 'uploader', { ttlSec: 600 });
      await page.goto(`${t.url}/?access_token=${encodeURIComponent(upToken)}`);
      await page.fill('#title', 'From the page');
      await page.setInputFiles('#file', clip);
      await page.click('#start');
      await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready') === true, undefined, {
        timeout: 90_000,
      });
      const id = await page.evaluate(() => document.body.dataset['videoId']);
      const res = await fetch(`${t.url}/api/videos/${id}`, { headers: bearer(upToken) });
      expect(res.status).toBe(200);
      const v = (await res.json()) as VideoJson & { title: string };
      expect(v).toMatchObject({ status: 'ready', title: 'From the page' });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
