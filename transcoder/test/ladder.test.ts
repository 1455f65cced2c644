import { describe, expect, it } from 'vitest';
import { buildLadderPlan, FIRST_GOP_SECONDS, keyframeExpression, scaleCascade } from '../command.ts';
import { keyframesAligned } from '../keyframes.ts';
import { outputFps, pictureFixes, planLadder, remuxBlocker } from '../ladder.ts';
import type { StillSeries } from '../stills.ts';
import { probeOf } from './fixtures.ts';

const IN = { path: 'in.mp4', demuxer: 'mov' } as const;

const sizes = (w: number, h: number, v = {}): string[] => planLadder(probeOf(w, h, v)).map((r) => `${r.name}:${r.width}x${r.height}`);

describe('planLadder', () => {
  it.each([
    ['1080p 16:9', 1920, 1080, {}, ['234p:416x234', '360p:640x360', '540p:960x540', '720p:1280x720', '1080p:1920x1080']],
    ['4K 16:9 stops at 1080p', 3840, 2160, {}, ['234p:416x234', '360p:640x360', '540p:960x540', '720p:1280x720', '1080p:1920x1080']],
    ['720p', 1280, 720, {}, ['234p:416x234', '360p:640x360', '540p:960x540', '720p:1280x720']],
    ['portrait 1080x1920', 1080, 1920, {}, ['234p:234x416', '360p:360x640', '540p:540x960', '720p:720x1280', '1080p:1080x1920']],
    [
      'rotated 90° landscape pixels play portrait',
      1280,
      720,
      { rotation: 90 },
      ['234p:234x416', '360p:360x640', '540p:540x960', '720p:720x1280'],
    ],
    ['rotated 180° stays landscape', 640, 360, { rotation: 180 }, ['234p:416x234', '360p:640x360']],
    ['4:3 640x480', 640, 480, {}, ['234p:312x234', '360p:480x360']],
    ['odd 641x359: even, never above the source', 641, 359, {}, ['234p:418x234', '360p:640x358']],
    ['352-line source keeps a 360p-class rung at its own size', 624, 352, {}, ['234p:414x234', '360p:624x352']],
    ['tiny 160x90: one rung at its own size', 160, 90, {}, ['90p:160x90']],
    ['tiny odd 97x55', 97, 55, {}, ['54p:96x54']],
  ])('%s', (_name, w, h, v, expected) => {
    expect(sizes(w, h, v)).toEqual(expected);
  });

  it('never upscales and keeps the aspect ratio within a pixel of rounding', () => {
    for (const [w, h] of [
      [1920, 1080],
      [1440, 1080],
      [1080, 1350],
      [853, 480],
      [720, 576],
      [3840, 1600],
    ] as const) {
      for (const r of planLadder(probeOf(w, h))) {
        expect(r.width).toBeLessThanOrEqual(w);
        expect(r.height).toBeLessThanOrEqual(h);
        expect((r.width % 2) + (r.height % 2)).toBe(0);
        expect(Math.abs(r.width / r.height - w / h)).toBeLessThan(0.02);
      }
    }
  });

  it('caps peak: maxrate 1.5× average, so a segment stays under 2× (Apple HLS authoring)', () => {
    for (const r of planLadder(probeOf(1920, 1080))) {
      expect(r.maxBitrate).toBeLessThanOrEqual(r.videoBitrate * 2);
      expect(r.maxBitrate).toBeGreaterThan(r.videoBitrate);
    }
  });

  it.each([
    [30, false, 30],
    [29.97, false, 29.97],
    [25, false, 25],
    [50, false, 50],
    [59.94, false, 59.94],
    [60, false, 60],
    [120, false, 60],
    [100, false, 50],
    [240, false, 60],
    [0, false, 30],
    [29.4, true, 30],
    [24.3, true, 24],
    [57, true, 60],
  ])('fps %d (vfr %s) → %d', (src, vfr, out) => {
    expect(outputFps(src, vfr)).toBe(out);
  });

  it('raises bitrates for 50/60 fps sources and keeps every rung at the one output rate', () => {
    const at30 = planLadder(probeOf(1280, 720));
    const at60 = planLadder(probeOf(1280, 720, { fps: 60 }));
    const at120 = planLadder(probeOf(1280, 720, { fps: 120 }));
    expect(at60.map((r) => r.fps)).toEqual(at60.map(() => 60));
    expect(at120.map((r) => r.fps)).toEqual(at120.map(() => 60));
    expect(at60[0]!.videoBitrate).toBeGreaterThan(at30[0]!.videoBitrate);
  });
});

describe('pictureFixes', () => {
  it.each([
    ['progressive SDR', {}, { deinterlace: false, toneMap: false }],
    ['interlaced top field first', { fieldOrder: 'tt' }, { deinterlace: true, toneMap: false }],
    ['interlaced bottom first', { fieldOrder: 'bb' }, { deinterlace: true, toneMap: false }],
    ['unknown field order is not guessed', { fieldOrder: 'unknown' }, { deinterlace: false, toneMap: false }],
    ['HDR10 PQ', { colorTransfer: 'smpte2084', pixFmt: 'yuv420p10le' }, { deinterlace: false, toneMap: true }],
    ['HLG', { colorTransfer: 'arib-std-b67', pixFmt: 'yuv420p10le' }, { deinterlace: false, toneMap: true }],
    ['10-bit SDR is only converted', { pixFmt: 'yuv420p10le' }, { deinterlace: false, toneMap: false }],
  ])('%s', (_name, v, expected) => {
    expect(pictureFixes(probeOf(1280, 720, v))).toMatchObject(expected);
  });

  it('puts deinterlace, tone-map, fps and 8-bit 4:2:0 conversion before the one split', () => {
    const probe = probeOf(1280, 720, { fieldOrder: 'tt', colorTransfer: 'smpte2084', fps: 59.94 });
    const plan = buildLadderPlan({ input: IN, outDir: '/o', rungs: planLadder(probe), hasAudio: true, fixes: pictureFixes(probe) });
    const shared = plan.complexFilter!.split(';')[0]!;
    expect(shared).toMatch(/^\[0:v:0\]bwdif=.*zscale=t=linear.*tonemap=tonemap=hable.*fps=59\.94,format=yuv420p,split=1\[s0\]$/);
    expect(plan.outputs).toHaveLength(5);
  });
});

describe('buildLadderPlan', () => {
  const rungs = planLadder(probeOf(640, 360));

  it('encodes every rung with a 2 s closed GOP and no scene-cut keyframes, one AAC output', () => {
    const plan = buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true });
    const video = plan.outputs.filter((o) => o.options.includes('libx264'));
    expect(video).toHaveLength(2);
    for (const o of video) {
      const opt = (k: string): string | undefined => o.options[o.options.indexOf(k) + 1];
      expect(opt('-g')).toBe('60');
      expect(opt('-sc_threshold')).toBe('0');
      expect(opt('-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
      expect(Number(opt('-bufsize'))).toBe(Number(opt('-maxrate')));
    }
    expect(plan.outputs.filter((o) => o.options.includes('aac'))).toHaveLength(1);
    expect(plan.inputOptions).toContain('-xerror');
  });

  it('with pieces: a 1 s first GOP then the 2 s grid, cut at every keyframe; a stream-copied rung keeps the 2 s grid', () => {
    const opts = (plan: ReturnType<typeof buildLadderPlan>, encoder: string, key: string): Array<string | undefined> =>
      plan.outputs.filter((o) => o.options.includes(encoder)).map((o) => o.options[o.options.indexOf(key) + 1]);
    const pieces = buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true, pieces: true });
    expect(opts(pieces, 'libx264', '-force_key_frames')).toEqual(Array(2).fill(keyframeExpression(FIRST_GOP_SECONDS)));
    expect(keyframeExpression(1)).toBe('expr:gte(t,if(eq(n_forced,1),1,max(n_forced-1,0)*2))');
    expect(opts(pieces, '-f', '-hls_time')).toEqual(['1', '1', '1']);
    expect(pieces.outputs.every((o) => o.options.some((x) => x.endsWith('/.pieces/p_%05d.m4s')))).toBe(true);
    const quick = buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true, pieces: true, copyTopRung: true });
    expect(opts(quick, 'libx264', '-force_key_frames')).toEqual(['expr:gte(t,n_forced*2)']);
    expect(opts(quick, '-f', '-hls_time')).toEqual(['2', '2', '2']);
    const plain = buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true });
    expect(opts(plain, '-f', '-hls_time')).toEqual(['6', '6', '6']);
    expect(plain.niceness).toBeUndefined();
    expect(buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true, niceness: 10 }).niceness).toBe(10);
  });

  it('scales each rung from the smallest larger rung twice its size, or from the one split when none is', () => {
    const full = planLadder(probeOf(1920, 1080));
    const graph = buildLadderPlan({ input: IN, outDir: '/o', rungs: full, hasAudio: true }).complexFilter!.split(';');
    expect(graph).toEqual([
      '[0:v:0]fps=30,format=yuv420p,split=1[s0]',
      '[s0]split=2[n_4][n_3]',
      '[n_4]scale=1920:1080:flags=bicubic,setsar=1,split=2[v4][n4_2]',
      '[n_3]scale=1280:720:flags=bicubic,setsar=1,split=2[v3][n3_1]',
      '[n4_2]scale=960:540:flags=bicubic,setsar=1,split=2[v2][n2_0]',
      '[n3_1]scale=640:360:flags=bicubic,setsar=1[v1]',
      '[n2_0]scale=416:234:flags=bicubic,setsar=1[v0]',
    ]);
    // The quick path leaves the top rung out: 540p then has no rung twice its size and is scaled from the source.
    const quick = buildLadderPlan({ input: IN, outDir: '/o', rungs: full, hasAudio: true, copyTopRung: true }).complexFilter!;
    expect(quick.split(';').slice(1, 3)).toEqual(['[s0]split=2[n_3][n_2]', '[n_3]scale=1280:720:flags=bicubic,setsar=1,split=2[v3][n3_1]']);
    // Rungs in another order (a caller's own list) form the same tree, by size.
    expect(scaleCascade([...full].reverse(), 's0', (i) => `r${i}`)).toEqual([
      '[s0]split=2[n_0][n_1]',
      '[n_0]scale=1920:1080:flags=bicubic,setsar=1,split=2[r0][n0_2]',
      '[n_1]scale=1280:720:flags=bicubic,setsar=1,split=2[r1][n1_3]',
      '[n0_2]scale=960:540:flags=bicubic,setsar=1,split=2[r2][n2_4]',
      '[n1_3]scale=640:360:flags=bicubic,setsar=1[r3]',
      '[n2_4]scale=416:234:flags=bicubic,setsar=1[r4]',
    ]);
    // A rung that does not fit twice into any larger one is scaled from the source: never upscaled in one direction.
    const misfit = [
      { width: 640, height: 360 },
      { width: 1400, height: 300 },
    ];
    expect(scaleCascade(misfit, 's0', (i) => `r${i}`)).toEqual([
      '[s0]split=2[n_1][n_0]',
      '[n_1]scale=1400:300:flags=bicubic,setsar=1[r1]',
      '[n_0]scale=640:360:flags=bicubic,setsar=1[r0]',
    ]);
  });

  it('quick path: the top rung and the audio are stream copies, the rest still share one decode', () => {
    const plan = buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true, copyTopRung: true });
    expect(plan.complexFilter).toContain('split=1[s0]');
    expect(plan.outputs[1]!.options.slice(0, 5)).toEqual(['-map', '0:v:0', '-an', '-c:v', 'copy']);
    expect(plan.outputs[2]!.options).toContain('copy');
  });

  it('quick path with a single rung needs no filter graph at all (pure remux)', () => {
    const one = planLadder(probeOf(320, 180));
    const plan = buildLadderPlan({ input: IN, outDir: '/o', rungs: one, hasAudio: false, copyTopRung: true });
    expect(plan.complexFilter).toBeUndefined();
    expect(plan.outputs).toHaveLength(1);
  });

  const tiles: StillSeries = { name: 'tile', dir: '/o/.s/t', startSec: 0, intervalSec: 2, width: 160, fit: 'exact' };
  const cands: StillSeries = { name: 'cand', dir: '/o/.s/c', startSec: 1.5, intervalSec: 2.25, width: 1280, fit: 'shrink' };

  it('still series are more outputs of the one split: low-rate fps branches, one uncompressed TIFF per frame', () => {
    const plan = buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true, stills: [tiles, cands] });
    const graph = plan.complexFilter!.split(';');
    expect(graph[0]).toMatch(/split=3\[s0\]\[s1\]\[s2\]$/);
    expect(graph).toContain('[s1]fps=fps=1000/2000:start_time=0:round=up,scale=160:-2[tile]');
    // The tick grid is moved to startSec by shifting the timestamps, not by fps's start_time (which it rounds).
    expect(graph).toContain("[s2]setpts=PTS-1500/(1000*TB),fps=fps=1000/2250:start_time=0:round=up,scale='min(1280,iw)':-2[cand]");
    expect(plan.outputs.map((o) => o.path).slice(3)).toEqual(['/o/.s/t/tile_%05d.tiff', '/o/.s/c/cand_%05d.tiff']);
    expect(plan.outputs[3]!.options).toEqual([
      '-map',
      '[tile]',
      '-an',
      '-fps_mode',
      'passthrough',
      '-pix_fmt',
      'rgb24',
      '-compression_algo',
      'raw',
      // Each frame is handed over as soon as it is made, and appears whole under its name (read during the run).
      '-threads',
      '1',
      '-atomic_writing',
      '1',
    ]);
    // The HLS outputs are the same as without stills.
    expect(plan.outputs.slice(0, 3)).toEqual(buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true }).outputs);
  });

  it('with stills even a pure remux decodes, once: a split that feeds only the still branches', () => {
    const one = planLadder(probeOf(320, 180));
    const plan = buildLadderPlan({ input: IN, outDir: '/o', rungs: one, hasAudio: false, copyTopRung: true, stills: [tiles] });
    expect(plan.complexFilter).toBe(
      '[0:v:0]fps=30,format=yuv420p,split=1[s0];[s0]fps=fps=1000/2000:start_time=0:round=up,scale=160:-2[tile]',
    );
    expect(plan.outputs[0]!.options.slice(0, 5)).toEqual(['-map', '0:v:0', '-an', '-c:v', 'copy']);
    expect(plan.outputs).toHaveLength(2);
  });

  it('refuses a still series whose name could clash with a graph label or whose interval is zero', () => {
    const build = (s: StillSeries) => () => buildLadderPlan({ input: IN, outDir: '/o', rungs, hasAudio: true, stills: [s] });
    expect(build({ ...tiles, name: 'v0' })).toThrow(RangeError);
    expect(build({ ...tiles, intervalSec: 0.0001 })).toThrow(RangeError);
  });
});

describe('remuxBlocker (quick path, probe half)', () => {
  const ok = probeOf(640, 360, { bitRate: 700_000 });
  const top = (p = ok) => planLadder(p).at(-1)!;

  it('accepts H.264 yuv420p + stereo AAC at the top rung size, rate and bitrate', () => {
    expect(remuxBlocker(ok, top())).toBeUndefined();
  });

  it.each([
    ['HEVC', { codec: 'hevc' }],
    ['10-bit', { pixFmt: 'yuv420p10le' }],
    ['4:2:2', { pixFmt: 'yuv422p' }],
    ['rotation flag', { rotation: 90 }],
    ['VFR', { variableFrameRate: true }],
    ['bitrate above maxrate', { bitRate: 5_000_000 }],
    ['unknown bitrate', { bitRate: null }],
    ['interlaced', { fieldOrder: 'tt' }],
    ['larger than the top rung (4K)', { width: 3840, height: 2160 }],
    ['120 fps (output is 60)', { fps: 120 }],
  ])('refuses %s', (_name, v) => {
    const p = probeOf(640, 360, { bitRate: 700_000, ...v });
    expect(remuxBlocker(p, top(p))).toBeTypeOf('string');
  });

  it('refuses non-AAC or 5.1 audio, accepts a silent source', () => {
    expect(remuxBlocker(probeOf(640, 360, { bitRate: 700_000 }, { codec: 'opus', channels: 2, sampleRate: 48_000 }), top())).toBeTypeOf(
      'string',
    );
    expect(remuxBlocker(probeOf(640, 360, { bitRate: 700_000 }, { codec: 'aac', channels: 6, sampleRate: 48_000 }), top())).toBeTypeOf(
      'string',
    );
    expect(remuxBlocker(probeOf(640, 360, { bitRate: 700_000 }, 'none'), top())).toBeUndefined();
  });
});

describe('keyframesAligned (quick path, keyframe half)', () => {
  it.each([
    ['every 2 s', [0, 2, 4, 6, 8], 10, true],
    ['every 1 s (a superset)', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10, true],
    ['every 2 s plus scene cuts', [0, 1.3, 2, 4, 4.7, 6, 8], 10, true],
    ['a few ms late (timestamp rounding)', [0, 2.01, 4.005, 6, 8], 10, true],
    ['x264 default keyint 250 @30 fps', [0, 8.333], 10, false],
    ['one keyframe a frame early', [0, 2, 3.967, 6, 8], 10, false],
    ['every 3 s', [0, 3, 6, 9], 10, false],
    ['last GOP shorter than half a frame needs no keyframe', [0, 2, 4], 6.01, true],
  ])('%s → %s', (_name, keys, duration, expected) => {
    expect(keyframesAligned(keys, duration, 2, 30)).toBe(expected);
  });
});
