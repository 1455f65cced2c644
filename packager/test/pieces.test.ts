import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { countFrames } from '../../test/helpers/media-check.ts';
import { ffmpegQuiet } from '../../test/helpers/media.ts';
import { readBoxes, readFragments, trackDefaults } from '../boxes.ts';
import { parseMediaPlaylist, type MediaSegmentEntry } from '../media-playlist.ts';
import { groupPieces, joinPieces, type PieceGroup } from '../pieces.ts';

const pieces = (durations: readonly number[]): MediaSegmentEntry[] => durations.map((duration, n) => ({ uri: `p_${n}.m4s`, duration }));
const sizes = (groups: readonly PieceGroup[]): number[] => groups.map((g) => g.pieces.length);

describe('groupPieces', () => {
  it('makes the first segment the 1 s first GOP, the next end on 6 s boundaries, and the short tail only once final', () => {
    const gops = pieces([1, 1, 2, 2, 2, 2, 2, 1.5]);
    const open = groupPieces(gops, 6, false);
    expect(sizes(open)).toEqual([1, 3, 3]);
    expect(open.map((g) => g.uri)).toEqual(['seg_00000.m4s', 'seg_00001.m4s', 'seg_00002.m4s']);
    expect(open.map((g) => g.duration)).toEqual([1, 5, 6]);
    const done = groupPieces(gops, 6, true);
    expect(done.map((g) => g.pieces)).toEqual([
      ['p_0.m4s'],
      ['p_1.m4s', 'p_2.m4s', 'p_3.m4s'],
      ['p_4.m4s', 'p_5.m4s', 'p_6.m4s'],
      ['p_7.m4s'],
    ]);
    expect(done.at(-1)!.duration).toBe(1.5);
    expect(groupPieces([], 6, true)).toEqual([]);
    expect(groupPieces(pieces([1]), 6, false)).toHaveLength(1);
    // Not yet at the boundary: the second segment waits for the GOP that reaches 6 s.
    expect(sizes(groupPieces(pieces([1, 1, 2]), 6, false))).toEqual([1]);
  });

  it('closes a segment at its boundary only once the next piece is listed, and folds a one-frame tail into the last', () => {
    const twelve = [1, 1, 2, 2, 2, 2, 2];
    expect(sizes(groupPieces(pieces(twelve), 6, false))).toEqual([1, 3]);
    expect(sizes(groupPieces(pieces(twelve), 6, true))).toEqual([1, 3, 3]);
    const overrun = groupPieces(pieces([...twelve, 0.033]), 6, true);
    expect(overrun.map((g) => g.duration)).toEqual([1, 5, 6.033]);
    // A tail of half a second is a segment of its own: 6.5 s would round above the 6 s target.
    expect(sizes(groupPieces(pieces([...twelve, 0.5]), 6, true))).toEqual([1, 3, 3, 1]);
  });

  it('never changes a group it has returned: the groups of every listing are a prefix of the final ones', () => {
    const cases = [
      [1, 1, 2, 2, 2, 2, 2, 0.033],
      [1, 1, 2, 2, 2, 2, 2, 1.5],
      [1, 0.04],
      [1.002667, 1.002667, 1.002667, 1.002667, 1.002667, 1.002667, 1.002667, 0.02],
      [2, 2, 2, 2, 2, 0.1],
    ];
    for (const durations of cases) {
      const all = pieces(durations);
      const done = groupPieces(all, 6, true);
      for (let n = 0; n <= all.length; n++) {
        const open = groupPieces(all.slice(0, n), 6, false);
        expect(done.slice(0, open.length), `${durations.join(',')} after ${n}`).toEqual(open);
      }
    }
    // ffmpeg listed the one-frame tail before it exited: the last whole segment waits for the final listing.
    expect(sizes(groupPieces(pieces([1, 1, 2, 2, 2, 2, 2, 0.033]), 6, false))).toEqual([1, 3]);
  });

  it('keeps a stream-copied rung on its own 2 s grid: 0–2, 2–6, 6–12', () => {
    expect(groupPieces(pieces([2, 2, 2, 2, 2, 2, 2]), 6, true).map((g) => g.duration)).toEqual([2, 4, 6, 2]);
  });

  it('lines audio pieces (cut one AAC frame past each second) up with the video boundaries', () => {
    const audio = pieces(Array.from({ length: 13 }, () => 1.002667));
    expect(sizes(groupPieces(audio, 6, false))).toEqual([1, 5, 6]);
    expect(sizes(groupPieces(audio, 6, true))).toEqual([1, 5, 6, 1]);
  });

  it('follows keyframes a frame off the grid at 29.97 fps', () => {
    const ntsc = pieces([1.001, 1.001, 2.002, 2.002, 2.002, 2.002, 2.002, 1.968, 2.002]);
    expect(sizes(groupPieces(ntsc, 6, true))).toEqual([1, 3, 3, 2]);
  });

  it('sums durations without float noise', () => {
    const audio = pieces([1.002667, 2.001333, 2.001333, 2.001333]);
    expect(groupPieces(audio, 6, true)[1]!.duration).toBe(6.003999);
  });

  it('rejects a segment length that is not a usable number of seconds', () => {
    for (const bad of [0, -1, Number.NaN, 0.1]) {
      let code: string | undefined;
      try {
        groupPieces(pieces([1]), bad, true);
      } catch (err) {
        code = isPipelineError(err) ? err.code : 'not a PipelineError';
      }
      expect(code, String(bad)).toBe('PACKAGE_BAD_RENDITION');
    }
  });
});

describe('joinPieces on ffmpeg pieces', () => {
  let tmp: string;
  let init: Buffer;
  let pieces: Buffer[];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pieces-'));
    await mkdir(path.join(tmp, 'v', '.p'), { recursive: true });
    // What the ladder writes with `pieces`: one fMP4 file per 2 s GOP.
    await ffmpegQuiet([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=8'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-bf', '2'],
      ...['-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'event', '-hls_segment_type', 'fmp4'],
      ...['-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', path.join(tmp, 'v', '.p', 'p_%05d.m4s')],
      path.join(tmp, 'v', 'index.m3u8'),
    ]);
    init = await readFile(path.join(tmp, 'v', 'init.mp4'));
    const pl = parseMediaPlaylist(await readFile(path.join(tmp, 'v', 'index.m3u8'), 'utf8'));
    expect(pl.segments.map((s) => s.duration)).toEqual([2, 2, 2, 2]);
    pieces = await Promise.all(pl.segments.map((s) => readFile(path.join(tmp, 'v', '.p', s.uri))));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('keeps one styp at the start, drops every sidx, and keeps the fragments contiguous', () => {
    expect(readBoxes(pieces[1]!).map((b) => b.type)).toContain('sidx'); // what the join has to deal with
    const joined = joinPieces(pieces.slice(1));
    const types = readBoxes(joined).map((b) => b.type);
    expect(types[0]).toBe('styp');
    expect(types.filter((t) => t === 'styp')).toHaveLength(1);
    expect(types).not.toContain('sidx');
    expect(types.filter((t) => t === 'moof')).toHaveLength(3);
    const fragments = readFragments(joined, trackDefaults(init));
    for (let i = 1; i < fragments.length; i++) {
      const prev = fragments[i - 1]!;
      expect(fragments[i]!.decodeTime).toBe(prev.decodeTime + prev.samples.reduce((n, s) => n + s.duration, 0));
    }
  });

  it('decodes with the init segment: every frame of the three pieces', async () => {
    const file = path.join(tmp, 'joined.mp4');
    await writeFile(file, Buffer.concat([init, joinPieces(pieces.slice(1))]));
    expect(await countFrames(file)).toBe(180);
  });

  it('rejects a piece that is not a whole list of boxes', () => {
    let code: string | undefined;
    try {
      joinPieces([pieces[0]!, pieces[1]!.subarray(0, pieces[1]!.length - 7)]);
    } catch (err) {
      code = isPipelineError(err) ? err.code : 'not a PipelineError';
    }
    expect(code).toBe('PACKAGE_BAD_RENDITION');
  });
});
