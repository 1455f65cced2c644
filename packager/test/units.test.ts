import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { promisify } from 'node:util';
import { planLadder } from '../../transcoder/ladder.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { transcodeLadder } from '../../transcoder/transcode.ts';
import { readBoxes, readFragments, trackDefaults } from '../boxes.ts';
import { splitAtKeyframes } from '../refragment.ts';
import { codecOfInitFile } from '../codecs.ts';
import { parseAttributes } from '../master-parse.ts';
import { parseMediaPlaylist, renderMediaPlaylist } from '../media-playlist.ts';
import { artworkStills, planArtwork, writeArtwork } from '../artwork.ts';
import { scoreFrame } from '../posters.ts';
import { filesUnder } from '../progressive.ts';
import { renderStoryboardVtt, vttTime } from '../storyboard.ts';
import { mediaInput } from '../../media/allow-list.ts';

const run = promisify(execFile);

describe('packager units', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pu-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('rejects a non-playlist with PACKAGE_BAD_PLAYLIST and a non-init file with PACKAGE_BAD_RENDITION', async () => {
    expect(() => parseMediaPlaylist('<html>')).toThrow(expect.objectContaining({ code: 'PACKAGE_BAD_PLAYLIST' }));
    const junk = path.join(tmp, 'junk.mp4');
    await writeFile(junk, Buffer.alloc(64, 7));
    const err = await codecOfInitFile(junk, 'video').catch((e: unknown) => e);
    expect(isPipelineError(err, 'PACKAGE_BAD_RENDITION')).toBe(true);
  });

  it('round-trips an EVENT playlist: no ENDLIST, planned target, segments only appended', () => {
    const segs = [
      { uri: 'a.m4s', duration: 6 },
      { uri: 'b.m4s', duration: 6.016 },
    ];
    const text = renderMediaPlaylist({ mapUri: 'init.mp4', segments: segs, type: 'EVENT', endList: false, targetDuration: 6 });
    const pl = parseMediaPlaylist(text);
    expect(pl).toMatchObject({ playlistType: 'EVENT', endList: false, targetDuration: 6, mapUri: 'init.mp4', independentSegments: true });
    expect(pl.segments.map((s) => s.uri)).toEqual(['a.m4s', 'b.m4s']);
  });

  it('parses attribute lists with quoted commas', () => {
    expect(parseAttributes('BANDWIDTH=5,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"')).toEqual({
      BANDWIDTH: '5',
      CODECS: 'avc1.64001e,mp4a.40.2',
      AUDIO: 'aud',
    });
  });

  it('stops reading boxes at a corrupt size instead of running past the buffer', () => {
    const buf = Buffer.alloc(24);
    buf.writeUInt32BE(16, 0);
    buf.write('ftyp', 4, 'latin1');
    buf.writeUInt32BE(9999, 16);
    buf.write('moof', 20, 'latin1');
    expect(readBoxes(buf).map((b) => b.type)).toEqual(['ftyp']);
  });

  it('formats WebVTT cues with #xywh fragments, the last one running to the end', () => {
    expect(vttTime(3723.5)).toBe('01:02:03.500');
    const vtt = renderStoryboardVtt(
      's.jpg',
      [
        { x: 0, y: 0, w: 160, h: 90 },
        { x: 160, y: 0, w: 160, h: 90 },
      ],
      2,
      3.5,
    );
    expect(vtt).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\ns.jpg#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:03.500\ns.jpg#xywh=160,0,160,90\n',
    );
    // The last cue runs to the end even when the decode gave its interval no tile of its own.
    expect(renderStoryboardVtt('s.jpg', [{ x: 0, y: 0, w: 160, h: 90 }], 2, 2.5)).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:02.500\ns.jpg#xywh=0,0,160,90\n',
    );
  });

  it('scores a black frame below a detailed one', async () => {
    const black = path.join(tmp, 'black.png');
    const noisy = path.join(tmp, 'noisy.png');
    await sharp({ create: { width: 64, height: 36, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toFile(black);
    const pixels = Buffer.from(Array.from({ length: 64 * 36 * 3 }, (_, i) => (i * 97) % 256));
    await sharp(pixels, { raw: { width: 64, height: 36, channels: 3 } })
      .png()
      .toFile(noisy);
    expect((await scoreFrame(noisy)).score).toBeGreaterThan((await scoreFrame(black)).score);
  });

  it('plans one tile per second up to 100 tiles, then longer intervals; six candidates from 10 % in 15 % steps', () => {
    const tiles = (d: number): string => {
      const p = planArtwork('/w', d);
      return `${p.tiles.intervalSec}s x${p.tileCount}`;
    };
    expect([tiles(2), tiles(30), tiles(100), tiles(101), tiles(250.5), tiles(3600)]).toEqual([
      '1s x2',
      '1s x30',
      '1s x100',
      '2s x51',
      '3s x84',
      '36s x100',
    ]);
    const p = planArtwork('/w', 30);
    expect(p.candidates).toMatchObject({ startSec: 3, intervalSec: 4.5, width: 1280, fit: 'shrink' });
    expect(p.tiles).toMatchObject({ startSec: 0, width: 160, fit: 'exact' });
    expect([p.tiles.dir, p.candidates.dir].every((d) => d.startsWith('/w/.stills/'))).toBe(true);
  });

  it('never publishes the frames: filesUnder skips dot-directories and temp files', async () => {
    const dir = await mkdtemp(path.join(tmp, 'files-'));
    for (const f of ['.stills/tiles/tile_00001.tiff', 'v0/seg_00000.m4s', 'v0/seg_00001.m4s.tmp', 'master.m3u8']) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), 'x');
    }
    expect((await filesUnder(dir)).sort()).toEqual(['master.m3u8', 'v0/seg_00000.m4s']);
  });

  it('still makes posters and a storyboard for a video that is black throughout, and removes the frames', async () => {
    const clip = await makeClip({
      out: path.join(tmp, 'black.mp4'),
      durationSec: 2,
      width: 320,
      height: 180,
      audio: false,
      extraArgs: ['-vf', 'drawbox=c=black:t=fill'],
    });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const out = await mkdtemp(path.join(tmp, 'out-'));
    const plan = planArtwork(out, probe.durationSec);
    await transcodeLadder({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      outDir: out,
      logger: pino({ level: 'silent' }),
      preset: 'ultrafast',
      threads: 2,
      stills: artworkStills(plan),
    });
    const { posters, storyboard } = await writeArtwork(plan, out);
    expect(posters.images.map((i) => i.width)).toEqual([320, 320]); // no upscaling beyond the 320 px source
    expect(storyboard.tiles).toBe(2);
    expect((await readdir(out)).sort()).toEqual(['poster', 'storyboard', 'v0']);
  });

  it('fails with PACKAGE_ARTWORK_FAILED when the transcode wrote no frames, and still removes the frames dir', async () => {
    const out = await mkdtemp(path.join(tmp, 'none-'));
    const plan = planArtwork(out, 2);
    for (const s of artworkStills(plan)) await mkdir(s.dir, { recursive: true });
    const err = await writeArtwork(plan, out).catch((e: unknown) => e);
    expect(isPipelineError(err, 'PACKAGE_ARTWORK_FAILED')).toBe(true);
    expect(await readdir(out)).toEqual([]);
  });

  it('splits an ffmpeg segment into one fragment per GOP without changing a single packet', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'gop.mp4'), durationSec: 4, width: 320, height: 180, audio: false });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const outDir = await mkdtemp(path.join(tmp, 'ladder-'));
    await transcodeLadder({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      outDir,
      logger: pino({ level: 'silent' }),
      rungs: planLadder(probe).slice(0, 1),
      threads: 2,
    });
    const init = await readFile(path.join(outDir, 'v0/init.mp4'));
    const seg = await readFile(path.join(outDir, 'v0/seg_00000.m4s'));
    expect(readFragments(seg, trackDefaults(init))).toHaveLength(1); // what ffmpeg writes: one moof per segment
    const split = splitAtKeyframes(seg, trackDefaults(init))!;
    expect(readFragments(split, trackDefaults(init)).map((f) => f.samples.length)).toEqual([60, 60]);
    const packets = async (body: Buffer): Promise<string> => {
      const file = path.join(tmp, `p-${body.length}.mp4`);
      await writeFile(file, Buffer.concat([init, body]));
      return (await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts,dts,duration,size,flags', '-of', 'csv', file])).stdout;
    };
    expect(await packets(split)).toBe(await packets(seg));
    expect(splitAtKeyframes(split, trackDefaults(init))).toBeUndefined(); // idempotent: a split segment stays as is
    expect(splitAtKeyframes(Buffer.from('not a segment at all'), trackDefaults(init))).toBeUndefined();
  });
});
