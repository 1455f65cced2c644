import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as HLS from 'hls-parser';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcodeAndPackage, type PackagedTranscodeResult } from '../../pipeline/package-stage.ts';
import { waitFor } from '../../test/helpers/app.ts';
import { launchChromium } from '../../test/helpers/browser.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { PIECES_DIR } from '../../transcoder/command.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { parseMediaPlaylist } from '../media-playlist.ts';
import { validatePackage } from '../validate.ts';
import { feedSlowly, type SlowSource } from '../../test/helpers/slow-source.ts';
import { servePackages, type PackageServer } from './serve.ts';

HLS.setOptions({ strictMode: true });
const CLIP_SEC = 12;
/** Serving the clip slower than real time keeps ffmpeg busy long enough for a player to start mid-transcode. */
const FEED_SEC = 14;

interface Observation {
  rel: string;
  type: string | undefined;
  endList: boolean;
  segments: Array<{ uri: string; duration: number; size: number | undefined }>;
}

describe('progressive publishing: EVENT while transcoding, VOD at the end', () => {
  let tmp: string;
  let srv: PackageServer;
  let job: Promise<PackagedTranscodeResult>;
  let playableAt = 0;
  let transcodeDoneAt = 0;
  const observations: Observation[] = [];
  let watching = true;
  let watcher: Promise<void>;
  let source: SlowSource;
  let workDir = '';

  const parseErrors: string[] = [];
  let mastersSeen = 0;
  /** Every playlist a player could fetch mid-transcode must satisfy a third-party parser in strict mode. */
  function strictParse(text: string, rel: string): void {
    try {
      HLS.parse(text);
      if (rel === 'master.m3u8') mastersSeen++;
    } catch (err) {
      parseErrors.push(`${rel}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Polls the published playlists the way a player would and records the size of every segment they name. */
  async function watch(): Promise<void> {
    while (watching) {
      const master = await readFile(path.join(srv.dir, 'master.m3u8'), 'utf8').catch(() => undefined);
      if (master) strictParse(master, 'master.m3u8');
      for (const rel of ['v0/index.m3u8', 'v1/index.m3u8', 'audio/index.m3u8']) {
        const text = await readFile(path.join(srv.dir, rel), 'utf8').catch(() => undefined);
        if (!text) continue;
        strictParse(text, rel);
        const pl = parseMediaPlaylist(text);
        const segments = await Promise.all(
          pl.segments.map(async (s) => ({
            uri: s.uri,
            duration: s.duration,
            size: await stat(path.join(srv.dir, path.dirname(rel), s.uri)).then(
              (x) => x.size,
              () => undefined,
            ),
          })),
        );
        observations.push({ rel, type: pl.playlistType, endList: pl.endList, segments });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-prog-'));
    srv = await servePackages(path.join(tmp, 'published'));
    // MPEG-TS reads front to back, so it can arrive slowly over HTTP.
    const clip = await makeClip({ out: path.join(tmp, 'clip.ts'), durationSec: CLIP_SEC });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    source = await feedSlowly(clip, FEED_SEC);
    const start = Date.now();
    watcher = watch();
    job = transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: source.input,
      allowRemux: false,
      probe,
      workDir: (workDir = await mkdtemp(path.join(tmp, 'work-'))),
      storage: srv.storage,
      prefix: srv.prefix,
      logger: pino({ level: 'silent' }),
      threads: 2,
      // Far longer than the encode: everything published before finish() was found through the directory watch.
      pollIntervalMs: 60_000,
      skipArtwork: true,
      onPlayable: () => {
        playableAt = Date.now() - start;
      },
      onProgress: (p) => {
        if (p >= 100) transcodeDoneAt = Date.now() - start;
      },
    });
    job.catch(() => undefined); // awaited in the tests; keeps an early failure from being unhandled
  });
  afterAll(async () => {
    watching = false;
    await watcher;
    await job?.catch(() => undefined);
    await source?.close();
    await srv?.app.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('starts playing in Chromium while the playlist is EVENT and keeps playing after it turns VOD', async () => {
    await waitFor(
      () =>
        stat(path.join(srv.dir, 'master.m3u8')).then(
          () => true,
          () => undefined,
        ),
      { timeoutMs: 60_000, what: 'EVENT master' },
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${srv.url}/`);
      await page.evaluate((src) => {
        type Details = { live: boolean; type: string | null };
        type HlsLike = {
          on(e: string, cb: (e: string, d: { details: Details }) => void): void;
          loadSource(s: string): void;
          attachMedia(v: HTMLVideoElement): void;
        };
        const Hls = (window as unknown as { Hls: { new (o: object): HlsLike; Events: Record<string, string> } }).Hls;
        const log: string[] = [];
        (window as unknown as { __log: string[] }).__log = log;
        const video = document.createElement('video');
        video.id = 'preview';
        video.muted = true;
        document.body.appendChild(video);
        const hls = new Hls({ startPosition: 0 });
        hls.on(Hls.Events['LEVEL_LOADED']!, (_e, d) => log.push(`level:${d.details.type}:${d.details.live ? 'live' : 'ended'}`));
        video.addEventListener('timeupdate', () => {
          if (video.currentTime > 1 && !log.includes('played>1s')) log.push('played>1s');
        });
        hls.loadSource(src);
        hls.attachMedia(video);
        void video.play();
      }, `${srv.url}/${srv.prefix}/master.m3u8`);
      await page.waitForFunction(
        () => {
          const v = document.getElementById('preview') as HTMLVideoElement | null;
          const log = (window as unknown as { __log: string[] }).__log;
          return v !== null && v.currentTime > 8 && log.some((l) => l.startsWith('level:VOD:ended'));
        },
        undefined,
        { timeout: 60_000 },
      );
      const log = await page.evaluate(() => (window as unknown as { __log: string[] }).__log);
      const firstVod = log.findIndex((l) => l === 'level:VOD:ended');
      expect(log[0]).toBe('level:EVENT:live');
      expect(log.indexOf('played>1s')).toBeGreaterThan(-1);
      expect(log.indexOf('played>1s')).toBeLessThan(firstVod);
    } finally {
      await browser.close();
    }
  });

  it('became playable before the transcode finished and ends as a valid VOD package', async () => {
    const result = await job;
    expect(playableAt).toBeGreaterThan(0);
    expect(transcodeDoneAt).toBeGreaterThan(0);
    expect(playableAt).toBeLessThan(transcodeDoneAt);
    expect(result.violations).toEqual([]);
    expect(await validatePackage(srv.dir)).toEqual([]);
    const master = HLS.parse(await readFile(path.join(srv.dir, 'master.m3u8'), 'utf8')) as HLS.types.MasterPlaylist;
    expect(master.variants.filter((v) => v.isIFrameOnly)).toHaveLength(2);
    // ffmpeg's one-GOP pieces are work material: only the segments joined from them are published.
    const published = await readdir(srv.dir, { recursive: true });
    expect(published.filter((f) => f.includes(PIECES_DIR) || /p_\d+\.m4s$/.test(f))).toEqual([]);
    // and, once joined and published, they leave the work dir: it never holds the ladder twice.
    for (const r of ['v0', 'v1', 'audio']) expect(await readdir(path.join(workDir, r, PIECES_DIR)), r).toEqual([]);
  });

  it('never published a playlist naming a segment that was missing or not yet whole', async () => {
    watching = false;
    await watcher;
    expect(parseErrors).toEqual([]);
    expect(mastersSeen).toBeGreaterThan(0);
    const events = observations.filter((o) => o.type === 'EVENT');
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((o) => !o.endList)).toBe(true);
    expect(events.some((o) => o.segments.length === 1)).toBe(true); // seen growing, not only complete
    // The first segment is the 1 s first GOP (ffmpeg's first piece), so the preview needs 1 s of every rung, not 6 s.
    for (const rel of ['v0/index.m3u8', 'v1/index.m3u8']) {
      const first = events.find((o) => o.rel === rel && o.segments.length > 0)!;
      expect(first.segments[0]!.duration, rel).toBe(1);
      const vod = parseMediaPlaylist(await readFile(path.join(srv.dir, rel), 'utf8'));
      expect(vod.segments.map((x) => Math.round(x.duration))).toEqual([1, 5, 6]);
    }
    for (const o of observations) {
      for (const s of o.segments) {
        const final = (await stat(path.join(srv.dir, path.dirname(o.rel), s.uri))).size;
        expect(s.size, `${o.rel} → ${s.uri}`).toBe(final);
      }
    }
    // Types only ever move EVENT → VOD, never back.
    for (const rel of ['v0/index.m3u8', 'v1/index.m3u8', 'audio/index.m3u8']) {
      const types = observations.filter((o) => o.rel === rel).map((o) => o.type);
      expect(types.lastIndexOf('EVENT')).toBeLessThan(types.indexOf('VOD') === -1 ? Infinity : types.indexOf('VOD'));
    }
  });
});
