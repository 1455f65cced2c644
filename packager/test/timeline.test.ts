import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegQuiet } from '../../test/helpers/media.ts';
import { findBox, mediaTimescale, readBoxes, readFragments, trackDefaults } from '../boxes.ts';
import { bakeEditList, shiftDecodeTimes } from '../timeline.ts';

describe('baking the edit list into decode times', () => {
  let tmp: string;
  let videoInit: Buffer;
  let audioInit: Buffer;
  let videoSeg: Buffer;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-tl-'));
    // What the ladder command does: every output shifted by 1 s, edit lists in 90 kHz.
    const hls = (dir: string): string[] => [
      '-output_ts_offset',
      '1',
      '-f',
      'hls',
      '-hls_segment_options',
      'movie_timescale=90000',
      '-hls_segment_type',
      'fmp4',
      '-hls_segment_filename',
      path.join(tmp, dir, 'seg_%05d.m4s'),
      path.join(tmp, dir, 'index.m3u8'),
    ];
    await Promise.all(['v', 'a'].map((d) => mkdir(path.join(tmp, d))));
    await ffmpegQuiet([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=2', '-f', 'lavfi', '-i', 'sine=duration=2:sample_rate=48000'],
      ...['-map', '0:v', '-c:v', 'libx264', '-bf', '3', '-g', '30', ...hls('v')],
      ...['-map', '1:a', '-c:a', 'aac', ...hls('a')],
    ]);
    videoInit = await readFile(path.join(tmp, 'v/init.mp4'));
    audioInit = await readFile(path.join(tmp, 'a/init.mp4'));
    videoSeg = await readFile(path.join(tmp, 'v/seg_00000.m4s'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('video: the first frame is presented at 1 s after the shift (B-frame delay folded in), no edit list left', () => {
    const bake = bakeEditList(videoInit);
    if ('unsupported' in bake) throw new Error(bake.unsupported);
    const ts = mediaTimescale(videoInit)!;
    const frag = readFragments(videoSeg, trackDefaults(videoInit))[0]!;
    // The first sample's composition offset is the B-frame delay; decode time + shift + offset = presentation time.
    const firstCts = (() => {
      const trun = findBox(videoSeg, ['moof', 'traf', 'trun'])!;
      const flags = videoSeg.readUInt32BE(trun.body) & 0xffffff;
      let p = trun.body + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
      p += 4 * [0x100, 0x200, 0x400].filter((b) => flags & b).length;
      return videoSeg.readUInt32BE(p);
    })();
    expect(firstCts).toBeGreaterThan(0);
    expect(frag.decodeTime + bake.shift + firstCts).toBe(ts);
    expect(findBox(bake.init, ['moov', 'trak', 'edts'])).toBeUndefined();
    expect(findBox(videoInit, ['moov', 'trak', 'edts'])).toBeDefined();
    // Still one well-formed box tree that the rest of the packager reads the same way.
    expect(readBoxes(bake.init).reduce((n, b) => n + b.size, 0)).toBe(bake.init.length);
    expect(trackDefaults(bake.init)).toEqual(trackDefaults(videoInit));
    expect(bake.init.length).toBe(videoInit.length - findBox(videoInit, ['moov', 'trak', 'edts'])!.size);
  });

  it('audio: the AAC priming (1024 samples) ends exactly at 1 s', () => {
    const bake = bakeEditList(audioInit);
    if ('unsupported' in bake) throw new Error(bake.unsupported);
    expect(mediaTimescale(audioInit)).toBe(48_000);
    expect(bake.shift + 1024).toBe(48_000);
  });

  it('an init without an edit list needs no shift; two tracks are not guessed at', () => {
    const bake = bakeEditList(videoInit);
    if ('unsupported' in bake) throw new Error(bake.unsupported);
    expect(bakeEditList(bake.init)).toEqual({ shift: 0, init: bake.init });
    expect(bakeEditList(Buffer.alloc(16))).toEqual({ unsupported: 'no moov' });
  });

  it('shiftDecodeTimes moves every fragment, refuses to go negative or overflow a 32-bit tfdt', () => {
    const defaults = trackDefaults(videoInit);
    const before = readFragments(videoSeg, defaults).map((f) => f.decodeTime);
    const after = readFragments(shiftDecodeTimes(videoSeg, 1234), defaults).map((f) => f.decodeTime);
    expect(after).toEqual(before.map((t) => t + 1234));
    expect(() => shiftDecodeTimes(videoSeg, -before[0]! - 1)).toThrow(RangeError);
    const v0 = findBox(videoSeg, ['moof', 'traf', 'tfdt'])!;
    if (videoSeg[v0.body] === 0) expect(() => shiftDecodeTimes(videoSeg, 0xffffffff)).toThrow(RangeError);
  });
});
