import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LadderRung } from '../../core/types.ts';
import { mediaInput } from '../../media/allow-list.ts';
import { storageSink } from '../../storage/publish.ts';
import { launchChromium } from '../../test/helpers/browser.ts';
import { joinRendition } from '../../test/helpers/media-check.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { planChunks, type Chunk } from '../../transcoder/chunks.ts';
import { plannedRenditions } from '../../transcoder/command.ts';
import { planLadder } from '../../transcoder/ladder.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { transcodeLadder } from '../../transcoder/transcode.ts';
import { listStills } from '../../transcoder/stills.ts';
import { artworkStills, listGathered, planArtwork, type ArtworkPlan } from '../artwork.ts';
import { gatheredArtworkPlan, gatheredFile, PART_STILLS_DIR } from '../artwork-parts.ts';
import type { PublishedPart } from '../chunk-publish.ts';
import { POSTER_CANDIDATES } from '../posters.ts';
import { parseMediaPlaylist } from '../media-playlist.ts';
import { publishChunkedPreview, stitchPackage, type StitchResult } from '../stitch.ts';
import { validatePackage } from '../validate.ts';
import { framesOf, meanAbsDiff, runAudio, runChunk, ssimPerFrame, type FrameInfo } from './chunked-run.ts';
import { servePackages, type PackageServer } from './serve.ts';

const FPS = 30;

describe('chunked encode: 6 s chunks stitched into one package with invisible seams', () => {
  let tmp: string;
  let srv: PackageServer;
  let clip: string;
  let chunks: Chunk[];
  let rungs: LadderRung[];
  let stitched: StitchResult;
  let preview: { chunksListed: number; playlists: Record<string, string> };
  /** The same source encoded in one piece, the reference every seam is compared with. */
  let oneDir: string;
  let oneArt: ArtworkPlan;
  const read = (rel: string): Promise<string> => readFile(path.join(srv.dir, rel), 'utf8');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-chunked-'));
    srv = await servePackages(path.join(tmp, 'published'));
    clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 20, fps: FPS });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const source = mediaInput(clip, probe.container);
    rungs = planLadder(probe);
    // 6 s chunks and a 2 s last one: three seams, one of them before a short tail.
    chunks = planChunks(probe.durationSec, { chunkSec: 6, minChunkSec: 1, minSourceSec: 0 });
    const o = { source, probe, workRoot: tmp, storage: srv.storage, prefix: srv.prefix };
    const renditions = plannedRenditions(rungs, true);
    const sink = storageSink(srv.storage, srv.prefix);
    const audio = await runAudio(o);
    const parts: PublishedPart[] = [await runChunk(o, chunks[0]!)];
    // Chunk 0 and the audio alone make a playable EVENT package; later chunks finish out of order.
    const listed = await publishChunkedPreview({ chunks: parts, audio, renditions, sink });
    preview = { chunksListed: listed.chunksListed, playlists: {} };
    for (const rel of ['master.m3u8', 'v0/index.m3u8', 'v1/index.m3u8', 'audio/index.m3u8']) preview.playlists[rel] = await read(rel);
    for (const c of [...chunks.slice(1)].reverse()) parts.push(await runChunk(o, c));
    stitched = await stitchPackage({ chunks: parts, audio, renditions, sink, chunkCount: chunks.length });
    oneDir = await mkdtemp(path.join(tmp, 'one-'));
    oneArt = planArtwork(oneDir, probe.durationSec);
    await transcodeLadder({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source,
      probe,
      outDir: oneDir,
      logger: pino({ level: 'silent' }),
      threads: 2,
      rungs,
      allowRemux: false,
      stills: artworkStills(oneArt),
    });
  });
  afterAll(async () => {
    await srv?.app.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('plans 6 s chunks numbered by their first segment, the last taking the remainder', () => {
    expect(chunks.map((c) => [c.startSec, Math.round(c.durationSec * 10) / 10, c.firstSegmentNumber, c.last])).toEqual([
      [0, 6, 0, false],
      [6, 6, 1, false],
      [12, 6, 2, false],
      [18, 2, 3, true],
    ]);
    expect(planChunks(100, { chunkSec: 30, minChunkSec: 12 }).map((c) => c.durationSec)).toEqual([30, 30, 40]);
    expect(planChunks(50, { chunkSec: 30 }).length).toBe(1);
    expect(() => planChunks(100, { chunkSec: 7 })).toThrow(RangeError);
  });

  it('publishes a playable EVENT preview from chunk 0 alone', () => {
    expect(preview.chunksListed).toBe(1);
    for (const rel of ['v0/index.m3u8', 'v1/index.m3u8']) {
      const pl = parseMediaPlaylist(preview.playlists[rel]!);
      expect(pl.playlistType).toBe('EVENT');
      expect(pl.segments.map((s) => s.uri)).toEqual(['seg_00000.m4s']);
    }
    expect(parseMediaPlaylist(preview.playlists['audio/index.m3u8']!).segments.map((s) => s.uri)).toEqual(['seg_00000.m4s']);
    expect(preview.playlists['master.m3u8']).toContain('#EXT-X-STREAM-INF');
  });

  it('stitches a package that passes the validator, with one init per rung (byte-identical across chunks)', async () => {
    expect(await validatePackage(srv.dir, { known: stitched.known })).toEqual([]);
    expect(await validatePackage(srv.dir)).toEqual([]);
    for (const rel of ['v0/index.m3u8', 'v1/index.m3u8']) {
      const text = await read(rel);
      expect(text.match(/EXT-X-MAP/g)?.length).toBe(1);
      expect(parseMediaPlaylist(text).segments.map((s) => s.uri)).toEqual([
        'seg_00000.m4s',
        'seg_00001.m4s',
        'seg_00002.m4s',
        'seg_00003.m4s',
      ]);
    }
  });

  it('taps every poster and storyboard frame once, in the chunk that holds its time: the pictures of the one-piece run', async () => {
    const gathered = gatheredArtworkPlan(await mkdtemp(path.join(tmp, 'gathered-')), oneArt.durationSec);
    await Promise.all([gathered.tiles.dir, gathered.candidates.dir].map((d) => mkdir(d, { recursive: true })));
    for (const key of await srv.storage.list(`${srv.prefix}/${PART_STILLS_DIR}/`))
      await pipeline(await srv.storage.get(key), createWriteStream(gatheredFile(gathered, path.basename(key))!));
    const series = [
      { one: oneArt.tiles, got: gathered.tiles, limit: oneArt.tileCount },
      { one: oneArt.candidates, got: gathered.candidates, limit: POSTER_CANDIDATES },
    ];
    for (const s of series) {
      const one = await listStills(s.one, s.limit);
      const got = await listGathered(s.got, s.limit);
      expect(one.length).toBeGreaterThan(2);
      expect(got.map((g) => g.timeSec)).toEqual(one.map((o) => o.timeSec));
      // The test pattern moves every frame: a neighbouring frame differs by far more than the PNG round trip (none).
      for (const [i, g] of got.entries()) expect({ i, diff: await meanAbsDiff(one[i]!.file, g.file) }).toEqual({ i, diff: 0 });
    }
  });

  async function frames(dir: string, name: string, select = 'v:0'): Promise<FrameInfo[]> {
    const { file } = await joinRendition(dir, path.join(tmp, `${name}.mp4`));
    return framesOf(file, select);
  }

  it('gives every rung the one-piece frames: same count, same timestamps, no gap or overlap at a seam', async () => {
    const oneV1 = await frames(path.join(oneDir, 'v1'), 'one-v1');
    for (const dir of ['v0', 'v1']) {
      const got = await frames(path.join(srv.dir, dir), `chunked-${dir}`);
      expect(got.length).toBe(oneV1.length);
      for (let i = 1; i < got.length; i++) expect(Math.abs(got[i]!.pts - got[i - 1]!.pts - 1 / FPS)).toBeLessThan(0.002);
      // The one-piece files still carry ffmpeg's edit list, which ffprobe applies: the same presentation timeline.
      expect(Math.abs(got[0]!.pts - oneV1[0]!.pts)).toBeLessThan(0.002);
    }
  });

  it('puts a key frame at every segment start and every 2 s, on the same frames in every rung and the one-piece run', async () => {
    const keysOf = (f: FrameInfo[]): number[] => f.flatMap((x, i) => (x.key ? [i] : []));
    const one = keysOf(await frames(path.join(oneDir, 'v0'), 'one-v0-keys'));
    expect(one).toEqual([0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 570].slice(0, one.length));
    for (const dir of ['v0', 'v1']) expect(keysOf(await frames(path.join(srv.dir, dir), `keys-${dir}`))).toEqual(one);
  });

  it('keeps the audio one continuous stream (encoded once, no priming gap)', async () => {
    const got = await frames(path.join(srv.dir, 'audio'), 'audio', 'a:0');
    const steps = got.slice(1).map((f, i) => f.pts - got[i]!.pts);
    expect(Math.max(...steps)).toBeLessThan(1024 / 48_000 + 0.001);
    expect(Math.min(...steps)).toBeGreaterThan(1024 / 48_000 - 0.001);
  });

  it('looks like the one-piece encode around every seam (per-frame SSIM against the source)', async () => {
    const top = rungs.at(-1)!;
    const size = `${top.width}:${top.height}`;
    const dir = `v${rungs.length - 1}`;
    const { file: chunked } = await joinRendition(path.join(srv.dir, dir), path.join(tmp, 'ssim-chunked.mp4'));
    const { file: one } = await joinRendition(path.join(oneDir, dir), path.join(tmp, 'ssim-one.mp4'));
    const a = await ssimPerFrame(chunked, clip, size, path.join(tmp, 'ssim-a.log'));
    const b = await ssimPerFrame(one, clip, size, path.join(tmp, 'ssim-b.log'));
    expect(a.length).toBe(b.length);
    const floor = Math.min(...b) - 0.01;
    for (const seam of chunks.slice(1).map((c) => c.startSec * FPS)) {
      const around = a.slice(seam - 5, seam + 5);
      expect(Math.min(...around)).toBeGreaterThanOrEqual(floor);
      const mean = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
      expect(Math.abs(mean(around) - mean(b.slice(seam - 5, seam + 5)))).toBeLessThan(0.02);
    }
  });

  it('plays through every seam in Chromium with hls.js without a stall or an error', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${srv.url}/`);
      const outcome = await page.evaluate(async (src) => {
        type HlsLike = {
          on(e: string, cb: (e: string, d: { details: string; fatal: boolean }) => void): void;
          loadSource(s: string): void;
          attachMedia(v: HTMLVideoElement): void;
        };
        const Hls = (window as unknown as { Hls: { new (o: object): HlsLike; Events: Record<string, string> } }).Hls;
        const video = document.createElement('video');
        video.muted = true;
        document.body.appendChild(video);
        const hls = new Hls({ startPosition: 0 });
        const errors: string[] = [];
        let waiting = 0;
        // From 1 s on: the seams are at 6, 12 and 18 s. hls.js skips a hole of a few frames at the very start (where the
        // first video frame and the first baked AAC frame meet), which chunk 0 has exactly as the one-piece encode has it.
        hls.on(Hls.Events['ERROR']!, (_e, d) => {
          if (d.fatal || video.currentTime > 1) errors.push(`${d.details}${d.fatal ? ' (fatal)' : ''} at ${video.currentTime.toFixed(3)}`);
        });
        video.addEventListener('waiting', () => {
          if (video.currentTime > 0.5) waiting++;
        });
        hls.loadSource(src);
        hls.attachMedia(video);
        video.playbackRate = 4;
        await video.play();
        for (let i = 0; i < 1200 && !video.ended; i++) await new Promise((r) => setTimeout(r, 50));
        const ranges = Array.from({ length: video.buffered.length }, (_, i) => [video.buffered.start(i), video.buffered.end(i)]);
        return { ended: video.ended, time: video.currentTime, duration: video.duration, errors, waiting, ranges };
      }, `${srv.url}/${srv.prefix}/master.m3u8`);
      expect(outcome.errors).toEqual([]);
      expect(outcome.waiting).toBe(0);
      expect(outcome.ended).toBe(true);
      expect(outcome.time).toBeGreaterThan(19.5);
      // One buffered range: no hole at any seam for the player to jump.
      expect(outcome.ranges.length).toBe(1);
    } finally {
      await browser.close();
    }
  });
});
