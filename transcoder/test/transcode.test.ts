import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { measureRendition } from '../../packager/measure.ts';
import { ALIGNED_GOP, makeClip } from '../../test/helpers/media.ts';
import { keyframeTimes } from '../keyframes.ts';
import { probeSource } from '../probe.ts';
import { listStills, type StillSeries } from '../stills.ts';
import { transcodeLadder, type TranscodeResult } from '../transcode.ts';
import { firstStream, frameDurations, garbleMiddle, joinRendition, packetSizes } from '../../test/helpers/media-check.ts';
import { mediaInput } from '../../media/allow-list.ts';

const run = promisify(execFile);
const logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const bins = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

let tmp: string;
let n = 0;

async function transcode(source: string, extra: { allowRemux?: boolean; stills?: StillSeries[] } = {}): Promise<TranscodeResult> {
  const outDir = path.join(tmp, `out${n++}`);
  const probe = await probeSource(source, bins);
  return transcodeLadder({
    ...bins,
    source: mediaInput(source, probe.container),
    probe,
    outDir,
    logger,
    preset: 'ultrafast',
    threads: 2,
    ...extra,
  });
}

async function renditionKeyframes(r: TranscodeResult, dir: string): Promise<{ keys: number[]; durations: number[]; file: string }> {
  const joined = await joinRendition(path.join(r.outDir, dir), path.join(r.outDir, `${dir}-joined.mp4`));
  return {
    keys: await keyframeTimes({ path: joined.file, demuxer: 'mov' }, bins),
    durations: joined.playlist.segments.map((s) => s.duration),
    file: joined.file,
  };
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-transcode-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('transcodeLadder (real ffmpeg)', () => {
  it('decodes once into every rung with IDRs on the same 2 s grid and identical segment boundaries', async () => {
    // Noise makes the content hard to code, so maxrate actually binds and the peak check means something.
    const src = await makeClip({
      out: path.join(tmp, 'noisy.mp4'),
      durationSec: 8,
      width: 640,
      height: 360,
      extraArgs: ['-vf', 'noise=alls=40:allf=t+u'],
    });
    const r = await transcode(src);
    expect(r.remuxedTopRung).toBe(false);
    expect(r.plan.complexFilter).toContain('split=2[n_1][n_0]');
    const [low, top] = await Promise.all([renditionKeyframes(r, 'v0'), renditionKeyframes(r, 'v1')]);
    expect(low.keys).toEqual([0, 2, 4, 6]);
    expect(top.keys).toEqual(low.keys);
    expect(top.durations).toEqual(low.durations);
    expect(low.durations.length).toBeGreaterThan(1);
    for (const [i, rung] of r.rungs.entries()) {
      const m = await measureRendition(path.join(r.outDir, `v${i}`, 'index.m3u8'));
      // Apple HLS authoring: a segment's peak ≤ 200% of the average the rung was planned for.
      expect(m.peakBitrate).toBeLessThanOrEqual(rung.videoBitrate * 2);
    }
    const audio = await firstStream(path.join(r.outDir, 'audio', 'init.mp4'), 'a:0');
    expect(audio.codec_name).toBe('aac');
  });

  it('quick path: an aligned H.264/AAC source is copied for the top rung, bit-exact, still aligned with the rest', async () => {
    const src = await makeClip({ out: path.join(tmp, 'aligned.mp4'), durationSec: 8, width: 640, height: 360, extraArgs: ALIGNED_GOP });
    const r = await transcode(src);
    expect(r.remuxBlockedBy).toBeUndefined();
    expect(r.remuxedTopRung).toBe(true);
    const [low, top] = await Promise.all([renditionKeyframes(r, 'v0'), renditionKeyframes(r, 'v1')]);
    expect(top.keys).toEqual(low.keys);
    expect(top.durations).toEqual(low.durations);
    expect(await packetSizes(top.file)).toEqual(await packetSizes(src));
  });

  it('quick path is refused when the source GOP does not sit on the 2 s grid (x264 default keyint 250)', async () => {
    const src = await makeClip({
      out: path.join(tmp, 'gop250.mp4'),
      durationSec: 4,
      width: 640,
      height: 360,
      extraArgs: ['-b:v', '600k', '-maxrate', '800k', '-bufsize', '800k', '-ac', '2'],
    });
    const r = await transcode(src);
    expect(r.remuxedTopRung).toBe(false);
    expect(r.remuxBlockedBy).toMatch(/keyframes/);
    const top = await renditionKeyframes(r, 'v1');
    expect(top.keys).toEqual([0, 2]);
  });

  it('honours rotation: a 640x360 clip flagged 90° comes out as upright portrait rungs without the flag', async () => {
    const plain = await makeClip({ out: path.join(tmp, 'unrotated.mp4'), durationSec: 2, width: 640, height: 360, audio: false });
    // ffmpeg 5.1 writes the rotate tag as a display matrix only when stream-copying, as a phone's muxer would.
    const src = path.join(tmp, 'rot.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', src]);
    const r = await transcode(src);
    expect(r.rungs.map((x) => `${x.width}x${x.height}`)).toEqual(['234x416', '360x640']);
    const top = await firstStream(path.join(r.outDir, 'v1', 'init.mp4'));
    expect([top.width, top.height]).toEqual([360, 640]);
    expect(JSON.stringify(top.side_data_list ?? [])).not.toContain('rotation');
  });

  it('tone-maps a 10-bit HDR10 (PQ) source to 8-bit yuv420p BT.709', async () => {
    const src = await makeClip({
      out: path.join(tmp, 'hdr.mp4'),
      durationSec: 2,
      width: 320,
      height: 180,
      audio: false,
      extraArgs: [
        '-vf',
        'format=yuv420p10le',
        '-c:v',
        'libx265',
        '-x265-params',
        'log-level=error',
        '-pix_fmt',
        'yuv420p10le',
        '-color_primaries',
        'bt2020',
        '-color_trc',
        'smpte2084',
        '-colorspace',
        'bt2020nc',
      ],
    });
    const r = await transcode(src);
    expect(r.fixes.toneMap).toBe(true);
    const out = await firstStream((await joinRendition(path.join(r.outDir, 'v0'), path.join(tmp, 'hdr-out.mp4'))).file);
    expect(out.pix_fmt).toBe('yuv420p');
    expect(out.color_transfer).toBe('bt709');
  });

  it('deinterlaces an interlaced (top field first) source', async () => {
    const src = await makeClip({
      out: path.join(tmp, 'il.mp4'),
      durationSec: 2,
      width: 320,
      height: 180,
      audio: false,
      extraArgs: ['-flags', '+ildct+ilme', '-x264-params', 'tff=1'],
    });
    const r = await transcode(src);
    expect(r.fixes.deinterlace).toBe(true);
    const out = await firstStream((await joinRendition(path.join(r.outDir, 'v0'), path.join(tmp, 'il-out.mp4'))).file);
    expect(out.field_order).toBe('progressive');
  });

  it('makes a VFR source CFR and handles a source without audio', async () => {
    // Keeps frames 0–29, then every third one, with their original timestamps: 30 fps, then 10 fps.
    const src = await makeClip({
      out: path.join(tmp, 'vfr.mp4'),
      durationSec: 4,
      width: 320,
      height: 180,
      audio: false,
      extraArgs: ['-vf', "select='lt(n\\,30)+not(mod(n\\,3))'", '-fps_mode', 'vfr'],
    });
    const probe = await probeSource(src, bins);
    expect(probe.video.variableFrameRate).toBe(true);
    const r = await transcode(src);
    expect(r.renditions.map((x) => x.kind)).toEqual(['video']);
    expect(await readdir(r.outDir)).not.toContain('audio');
    const durations = await frameDurations((await joinRendition(path.join(r.outDir, 'v0'), path.join(tmp, 'vfr-out.mp4'))).file);
    const frame = 1 / r.fixes.fps;
    expect(durations.length).toBeGreaterThan(10);
    expect(durations.filter((d) => Math.abs(d - frame) > 0.002)).toEqual([]);
  });

  it('taps still frames off the same decode, each showing the picture at its presentation time', async () => {
    // Black until 4.2 s, white after: a tile or candidate taken even a fraction of a second off its time flips colour.
    const src = await makeClip({
      out: path.join(tmp, 'switch.mp4'),
      durationSec: 10,
      width: 320,
      height: 180,
      extraArgs: ['-vf', "drawbox=c=black:t=fill:enable='lt(t,4.2)',drawbox=c=white:t=fill:enable='gte(t,4.2)'"],
    });
    const dir = path.join(tmp, 'switch-stills');
    const tiles: StillSeries = { name: 'tile', dir: path.join(dir, 't'), startSec: 0, intervalSec: 1, width: 160, fit: 'exact' };
    const cands: StillSeries = { name: 'cand', dir: path.join(dir, 'c'), startSec: 1, intervalSec: 1.5, width: 1280, fit: 'shrink' };
    const r = await transcode(src, { stills: [tiles, cands] });
    expect(r.plan.complexFilter).toContain('split=3'); // one rung, two still series
    const looks = async (series: StillSeries, limit: number): Promise<string[]> =>
      Promise.all(
        (await listStills(series, limit)).map(async (s) => {
          const { width, height } = await sharp(s.file).metadata();
          const mean = (await sharp(s.file).greyscale().stats()).channels[0]!.mean;
          return `${s.timeSec}s ${width}x${height} ${mean < 40 ? 'black' : mean > 200 ? 'white' : 'grey'}`;
        }),
      );
    expect(await looks(tiles, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => `${t}s 160x90 ${t < 4.2 ? 'black' : 'white'}`));
    // Shrink only: a 320 px source gives 320 px candidates.
    expect(await looks(cands, 6)).toEqual([1, 2.5, 4, 5.5, 7, 8.5].map((t) => `${t}s 320x180 ${t < 4.2 ? 'black' : 'white'}`));
  });

  it('fails a source that is corrupt half-way with TRANSCODE_SOURCE_CORRUPT (not a retryable ffmpeg failure)', async () => {
    const src = await makeClip({
      out: path.join(tmp, 'corrupt.mp4'),
      durationSec: 4,
      width: 320,
      height: 180,
      extraArgs: ['-movflags', '+faststart'],
    });
    await garbleMiddle(src);
    await probeSource(src, bins); // the header is intact: only decoding finds the damage
    // With still outputs on the split too: they must not keep -xerror from ending the run.
    const stills: StillSeries = {
      name: 'tile',
      dir: path.join(tmp, 'corrupt-stills'),
      startSec: 0,
      intervalSec: 1,
      width: 160,
      fit: 'exact',
    };
    const err = await transcode(src, { stills: [stills] }).catch((e: unknown) => e);
    expect(isPipelineError(err, 'TRANSCODE_SOURCE_CORRUPT')).toBe(true);
    expect(String((err as { context: { stderrTail: string } }).context.stderrTail).length).toBeGreaterThan(0);
  });
});
