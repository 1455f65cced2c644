import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as HLS from 'hls-parser';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcodeAndPackage, type PackagedTranscodeResult } from '../../pipeline/package-stage.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { launchChromium } from '../../test/helpers/browser.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { findBox, mediaTimescale, readFragments, trackDefaults } from '../boxes.ts';
import { parseMediaPlaylist } from '../media-playlist.ts';
import { validatePackage } from '../validate.ts';
import { servePackages, type PackageServer } from './serve.ts';
import { mediaInput } from '../../media/allow-list.ts';

const run = promisify(execFile);
HLS.setOptions({ strictMode: true });

function parseMaster(text: string): HLS.types.MasterPlaylist {
  const pl = HLS.parse(text);
  if (!pl.isMasterPlaylist) throw new Error('expected a master playlist');
  return pl as HLS.types.MasterPlaylist;
}
function parseMedia(text: string): HLS.types.MediaPlaylist {
  const pl = HLS.parse(text);
  if (pl.isMasterPlaylist) throw new Error('expected a media playlist');
  return pl as HLS.types.MediaPlaylist;
}

describe('packager: Apple-spec VOD package from a real ladder', () => {
  let tmp: string;
  let srv: PackageServer;
  let result: PackagedTranscodeResult;
  let durationSec: number;
  const read = (rel: string): Promise<string> => readFile(path.join(srv.dir, rel), 'utf8');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pkg-'));
    srv = await servePackages(path.join(tmp, 'published'));
    // Black for the first 2.5 s: the poster must come from later, well-exposed frames.
    const clip = await makeClip({
      out: path.join(tmp, 'clip.mp4'),
      durationSec: 9,
      extraArgs: ['-vf', "drawbox=c=black:t=fill:enable='lt(t,2.5)'"],
    });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    durationSec = probe.durationSec;
    const workDir = await mkdtemp(path.join(tmp, 'work-'));
    result = await transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      workDir,
      storage: srv.storage,
      prefix: srv.prefix,
      logger: pino({ level: 'silent' }),
      threads: 2,
    });
  });
  afterAll(async () => {
    await srv?.app.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('writes a master hls-parser accepts, with measured bandwidths, real codecs, audio group and ~2 Mb/s first', async () => {
    const master = parseMaster(await read('master.m3u8'));
    expect(master.independentSegments).toBe(true);
    const normal = master.variants.filter((v) => !v.isIFrameOnly);
    expect(normal.map((v) => `${v.resolution?.width}x${v.resolution?.height}`)).toEqual(['640x360', '416x234']);
    const audio = result.pkg.renditions.find((r) => r.kind === 'audio')!;
    for (const v of normal) {
      const r = result.pkg.renditions.find((x) => x.playlist === v.uri)!;
      expect(v.bandwidth).toBe(r.bandwidth + audio.bandwidth);
      expect(v.averageBandwidth).toBe(r.averageBandwidth + audio.averageBandwidth);
      expect(v.averageBandwidth!).toBeLessThanOrEqual(v.bandwidth);
      expect(v.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
      expect(v.frameRate).toBe(30);
      expect(v.audio.map((a) => [a.groupId, a.uri])).toEqual([['aud', 'audio/index.m3u8']]);
    }
    // 360p (~0.9 Mb/s) is nearer 2 Mb/s than 234p, so it comes first.
    expect(normal[0]!.bandwidth).toBeGreaterThan(normal[1]!.bandwidth);
    const iframes = master.variants.filter((v) => v.isIFrameOnly);
    expect(iframes.map((v) => v.uri).sort()).toEqual(['v0/iframes.m3u8', 'v1/iframes.m3u8']);
    expect(iframes.every((v) => /^avc1\./.test(v.codecs ?? '') && !v.codecs?.includes('mp4a'))).toBe(true);
  });

  it('rewrites every media playlist as VOD with EXT-X-MAP, independent segments and a target of at most 6 s', async () => {
    for (const rel of ['v0/index.m3u8', 'v1/index.m3u8', 'audio/index.m3u8']) {
      const pl = parseMedia(await read(rel));
      expect(pl.playlistType).toBe('VOD');
      expect(pl.endlist).toBe(true);
      expect(pl.independentSegments).toBe(true);
      // The longest segment of 9 s is the one from 1 to 6 s.
      expect(pl.targetDuration).toBe(5);
      expect(pl.segments[0]!.map.uri).toBe('init.mp4');
      // The first segment is the 1 s first GOP, so a preview and a player's start need 1 s of every rendition, not 6 s.
      expect(pl.segments.map((s) => Math.round(s.duration))).toEqual([1, 5, 3]);
      const total = pl.segments.reduce((n, s) => n + s.duration, 0);
      expect(Math.abs(total - durationSec)).toBeLessThan(0.1);
    }
  });

  it('lists I-frames whose byte ranges (fetched with HTTP Range) decode to one key frame each', async () => {
    const pl = parseMedia(await read('v1/iframes.m3u8'));
    expect(pl.isIFrame).toBe(true);
    // One I-frame per GOP (each GOP is its own fragment): at 0, 1, 2, 4, 6 and 8 s of 9 s.
    expect(pl.segments.map((x) => [x.uri, x.duration])).toEqual([
      ['seg_00000.m4s', 1],
      ['seg_00001.m4s', 1],
      ['seg_00001.m4s', 2],
      ['seg_00001.m4s', 2],
      ['seg_00002.m4s', 2],
      ['seg_00002.m4s', 1],
    ]);
    const init = Buffer.from(await (await fetch(`${srv.url}/${srv.prefix}/v1/init.mp4`)).arrayBuffer());
    for (const [i, seg] of pl.segments.entries()) {
      const { offset, length } = seg.byterange;
      const res = await fetch(`${srv.url}/${srv.prefix}/v1/${seg.uri}`, { headers: { range: `bytes=${offset}-${offset + length - 1}` } });
      expect(res.status).toBe(206);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(length);
      const file = path.join(tmp, `iframe-${i}.mp4`);
      await writeFile(file, Buffer.concat([init, body]));
      const { stdout } = await run('ffprobe', [
        '-v',
        'error',
        '-select_streams',
        'v',
        '-show_frames',
        '-show_entries',
        'frame=key_frame,pict_type',
        '-of',
        'json',
        file,
      ]);
      const frames = (JSON.parse(stdout) as { frames: Array<{ key_frame: number; pict_type: string }> }).frames;
      expect(frames.map((f) => ({ key_frame: f.key_frame, pict_type: f.pict_type }))).toEqual([{ key_frame: 1, pict_type: 'I' }]);
    }
  });

  it('publishes segments with one fragment per GOP: 30 + 60 + 60 samples from 1 to 6 s, each fragment opening on its key frame', async () => {
    const init = await readFile(path.join(srv.dir, 'v0/init.mp4'));
    const timescale = mediaTimescale(init)!;
    expect(timescale).toBeGreaterThan(0);
    const seg = await readFile(path.join(srv.dir, 'v0/seg_00001.m4s'));
    const frags = readFragments(seg, trackDefaults(init));
    expect(frags.map((f) => f.samples.length)).toEqual([30, 60, 60]);
    // Decode times start where the baked edit list put them (timeline.ts), not at zero; the init has no edit list left.
    expect(frags.map((f) => (f.decodeTime - frags[0]!.decodeTime) / timescale)).toEqual([0, 1, 3]);
    expect(findBox(init, ['moov', 'trak', 'edts'])).toBeUndefined();
    const samples = frags.flatMap((f) => f.samples);
    expect(samples.flatMap((s, i) => (s.sync ? [i] : []))).toEqual([0, 30, 90]);
    expect(samples.at(-1)!.offset + samples.at(-1)!.size).toBe(seg.length);
    // A truncated segment yields what is complete, never a read past the buffer.
    expect(() => readFragments(seg.subarray(0, 100), trackDefaults(init))).not.toThrow();
  });

  it('passes the validator', async () => {
    expect(result.violations).toEqual([]);
    expect(await validatePackage(srv.dir)).toEqual([]);
  });

  it('makes JPEG and WebP posters from an exposed frame, not the black opening', async () => {
    expect(result.artwork.posters.map((p) => `${p.width}.${p.format}`).sort()).toEqual(['320.jpeg', '320.webp', '640.jpeg', '640.webp']);
    for (const p of result.artwork.posters) {
      const meta = await sharp(path.join(srv.dir, '..', '..', p.key)).metadata();
      expect(meta.format).toBe(p.format);
      expect(meta.width).toBe(p.width);
    }
    expect(result.artwork.posterKey).toBe(`${srv.prefix}/poster/poster-640.jpg`);
    const stats = await sharp(path.join(srv.dir, 'poster/poster-640.jpg')).greyscale().stats();
    expect(stats.channels[0]!.mean).toBeGreaterThan(40);
  });

  it('writes a storyboard whose every VTT cue points inside the sprite and the cues cover the video', async () => {
    const vtt = await read('storyboard/storyboard.vtt');
    const sprite = await sharp(path.join(srv.dir, 'storyboard/sprite.jpg')).metadata();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    const cues = [...vtt.matchAll(/(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)/g)];
    expect(cues.length).toBe(Math.ceil(durationSec));
    let prevEnd = 0;
    for (const c of cues) {
      const [start, end] = [Number(c[3]) + Number(c[2]) * 60, Number(c[6]) + Number(c[5]) * 60];
      const [x, y, w, h] = [c[8], c[9], c[10], c[11]].map(Number) as [number, number, number, number];
      expect(c[7]).toBe('sprite.jpg');
      expect(start).toBeCloseTo(prevEnd, 3);
      expect(x + w).toBeLessThanOrEqual(sprite.width!);
      expect(y + h).toBeLessThanOrEqual(sprite.height!);
      expect(w).toBe(160);
      prevEnd = end;
    }
    expect(prevEnd).toBeCloseTo(durationSec, 1);
  });

  it('plays in Chromium with hls.js and switches rungs on request (LEVEL_SWITCHED)', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${srv.url}/`);
      const masterUrl = `${srv.url}/${srv.prefix}/master.m3u8`;
      const outcome = await page.evaluate(async (src) => {
        type HlsLike = {
          levels: Array<{ height: number }>;
          currentLevel: number;
          on(e: string, cb: (e: string, d: { level: number }) => void): void;
          loadSource(s: string): void;
          attachMedia(v: HTMLVideoElement): void;
        };
        const Hls = (window as unknown as { Hls: { new (o: object): HlsLike; Events: Record<string, string> } }).Hls;
        const video = document.createElement('video');
        video.muted = true;
        document.body.appendChild(video);
        const hls = new Hls({ capLevelToPlayerSize: false, startLevel: 0 });
        const switched: number[] = [];
        hls.on(Hls.Events['LEVEL_SWITCHED']!, (_e, d) => switched.push(d.level));
        hls.loadSource(src);
        hls.attachMedia(video);
        await video.play();
        const until = async (f: () => boolean): Promise<void> => {
          for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 50));
        };
        await until(() => video.currentTime > 1 && switched.length > 0);
        const first = switched.at(-1)!;
        const target = first === 0 ? 1 : 0;
        hls.currentLevel = target;
        await until(() => switched.at(-1) === target);
        await until(() => video.currentTime > 3);
        return { first, target, switched, heights: hls.levels.map((l) => l.height), time: video.currentTime };
      }, masterUrl);
      expect(outcome.heights.sort()).toEqual([234, 360]);
      expect(outcome.switched.at(-1)).toBe(outcome.target);
      expect(outcome.switched).toContain(outcome.first);
      expect(outcome.time).toBeGreaterThan(3);
    } finally {
      await browser.close();
    }
  });

  it('parses our own playlists the same way hls-parser does', async () => {
    const ours = parseMediaPlaylist(await read('v0/iframes.m3u8'));
    const theirs = parseMedia(await read('v0/iframes.m3u8'));
    expect(ours.segments.map((s) => s.byteRange)).toEqual(
      theirs.segments.map((s) => ({ length: s.byterange.length, offset: s.byterange.offset })),
    );
  });
});
