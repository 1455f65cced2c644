import path from 'node:path';
import type { LadderRung } from '../core/types.ts';
import type { MediaInput } from '../media/allow-list.ts';
import { BUFSIZE_SECONDS, type PictureFixes } from './ladder.ts';
import { stillBranch, stillOutput, type StillSeries } from './stills.ts';
import { watermarkFilters, type WatermarkOptions } from './watermark.ts';

/** Seconds between IDR frames; HLS segments are a whole number of GOPs so every rung's segments line up. */
export const GOP_SECONDS = 2;
/**
 * The first GOP of a `pieces` encode (the one the progressive packager joins): one second instead of GOP_SECONDS, so
 * the first segment of every rung, which is what makes a video previewable and what a player fetches before it starts,
 * waits for half as much encoding (on a 10 s 2160p upload, about 2 s instead of 4 s). Keyframes then sit at 0, 1 s and
 * every GOP_SECONDS from 2 s on, on every rung alike. A stream-copied top rung keeps the source's own 2 s grid, so
 * with it the first GOP stays GOP_SECONDS.
 */
export const FIRST_GOP_SECONDS = 1;
/** HLS target segment duration (Apple recommends 6 s). */
export const SEGMENT_SECONDS = 6;
/**
 * With `pieces`, ffmpeg cuts every GOP into its own file in this sub-directory of the rendition (a dot-directory, so
 * it is never published as it is); the progressive packager joins them into segments (packager/pieces.ts).
 */
export const PIECES_DIR = '.pieces';
export const AUDIO_BITRATE = 128_000;
export const AUDIO_SAMPLE_RATE = 48_000;
/**
 * Every output is shifted this far before muxing, so that no packet (the AAC encoder's priming, the B-frame delay
 * of video decode times) is negative. Otherwise each HLS muxer shifts its own output to zero by a different amount
 * and the true audio/video offset is lost; with it, ffmpeg writes that offset exactly into each init's edit list,
 * which the packager (packager/timeline.ts) then bakes into the decode times. One second covers a B-frame delay of
 * several frames even at low frame rates.
 */
export const PRESENTATION_OFFSET_SECONDS = 1;

export interface LadderCommandOptions {
  /** The source as the media layer vetted it; run-ffmpeg.ts adds its allow-lists before `-i`. */
  readonly input: MediaInput;
  /** Directory that receives one sub-directory per rung (`v0`, `v1`, …) and `audio/`. */
  readonly outDir: string;
  readonly rungs: readonly LadderRung[];
  readonly hasAudio: boolean;
  /** Deinterlace / tone-map / output rate; default: none of the fixes, the top rung's fps. */
  readonly fixes?: PictureFixes;
  /**
   * Quick path: the top rung (the last one) is the source's video stream copied, not re-encoded, and the audio is
   * copied too. Only set it when ladder.ts#remuxBlocker and keyframes.ts#keyframesAligned both agree. Default false.
   */
  readonly copyTopRung?: boolean;
  /** x264 preset; default `veryfast`. */
  readonly preset?: string;
  /** ffmpeg -threads; 0 = automatic. */
  readonly threads?: number;
  /** Niceness ffmpeg runs at (0–19); default 0. */
  readonly niceness?: number;
  /** Still frames (storyboard tiles, poster candidates) taken from the same decode; default none. */
  readonly stills?: readonly StillSeries[];
  /** Encode only this time range of the source (one chunk of a chunked encode, see chunks.ts); default the whole source. */
  readonly window?: TimeWindow;
  /** Overlay burned into every encoded rung (watermark.ts); default none. Rules out copyTopRung. */
  readonly watermark?: WatermarkOptions;
  /**
   * One file per GOP under each rendition's PIECES_DIR instead of SEGMENT_SECONDS segments, for a packager that joins
   * them (the progressive packager: its first segment can then be a single GOP). Default false.
   */
  readonly pieces?: boolean;
}

/**
 * A time range of the source on the one-piece encode's timeline (seconds from the source's first frame). The decode
 * starts `prerollSec` earlier and the frames are cut with a filter after the fps filter, so a chunk holds exactly the
 * output frames the one-piece encode has in that range: the fps filter and bwdif see the same neighbouring frames.
 */
export interface TimeWindow {
  readonly startSec: number;
  /** undefined: up to the source's end. */
  readonly endSec: number | undefined;
  /** Seconds decoded before startSec and dropped; default 1. */
  readonly prerollSec?: number;
  /** Number of the first segment file (seg_%05d) and EXT-X-MEDIA-SEQUENCE of ffmpeg's playlist. */
  readonly firstSegmentNumber: number;
}

export interface FfmpegOutput {
  readonly path: string;
  readonly options: readonly string[];
}

/** A whole ffmpeg invocation as data: testable without running ffmpeg, turned into a command in run-ffmpeg.ts. */
export interface FfmpegPlan {
  /** Every ffmpeg run reads a vetted input: the runner opens it only with its allow-listed demuxer and protocol. */
  readonly input: MediaInput;
  readonly inputOptions: readonly string[];
  readonly complexFilter: string | undefined;
  readonly outputs: readonly FfmpegOutput[];
  /** Further inputs after the source: the watermark PNG (opened with media/watermark.ts's allow-lists); default none. */
  readonly images?: readonly { readonly path: string }[];
  /** Run under `nice -n` this value (so every thread ffmpeg starts has it from the first instant); default 0. */
  readonly niceness?: number;
}

export interface PlannedRendition {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  /** Directory name under outDir. */
  readonly dir: string;
  readonly rung: LadderRung | undefined;
}

/**
 * Where the encoded rungs put their keyframes: `expr:` for -force_key_frames. A window keeps the source's absolute
 * timestamps (windowFilters), so its keyframes sit on the same 2 s grid as in the one-piece encode; n_forced counts
 * from the window's first keyframe. A short first GOP puts the second keyframe at FIRST_GOP_SECONDS and the rest on
 * the GOP_SECONDS grid (n_forced 0 → 0, 1 → first, n ≥ 2 → (n − 1) · GOP).
 */
export function keyframeExpression(firstGopSec: number, window?: TimeWindow): string {
  if (window) return `expr:gte(t,${window.startSec}+n_forced*${GOP_SECONDS})`;
  if (firstGopSec === GOP_SECONDS) return `expr:gte(t,n_forced*${GOP_SECONDS})`;
  return `expr:gte(t,if(eq(n_forced,1),${firstGopSec},max(n_forced-1,0)*${GOP_SECONDS}))`;
}

/** The first GOP's length: FIRST_GOP_SECONDS for a pieces encode without a stream-copied rung, else GOP_SECONDS. */
function firstGopSeconds(o: Pick<LadderCommandOptions, 'pieces' | 'window'>, copy: boolean): number {
  return o.pieces && !copy && !o.window ? FIRST_GOP_SECONDS : GOP_SECONDS;
}

/** `pieceSec`: with pieces, ffmpeg cuts at every keyframe (hls_time no longer than the shortest GOP); else undefined. */
function hlsOptions(dir: string, startNumber = 0, pieceSec?: number): string[] {
  return [
    ...(startNumber > 0 ? ['-start_number', String(startNumber)] : []),
    '-output_ts_offset',
    String(PRESENTATION_OFFSET_SECONDS),
    '-f',
    'hls',
    // Edit lists in 90 kHz instead of milliseconds: the audio's priming offset (1024/48000 s) is then exact.
    '-hls_segment_options',
    'movie_timescale=90000',
    '-hls_time',
    String(pieceSec ?? SEGMENT_SECONDS),
    // EVENT: ffmpeg rewrites the playlist after every segment via a temp file + rename, so the packager can publish
    // while the transcode runs; the packager writes the final VOD playlists itself.
    '-hls_playlist_type',
    'event',
    '-hls_segment_type',
    'fmp4',
    '-hls_fmp4_init_filename',
    'init.mp4',
    // temp_file: segments are written as .tmp and renamed when complete; a listed segment is always whole.
    '-hls_flags',
    'independent_segments+temp_file',
    '-hls_segment_filename',
    pieceSec ? path.join(dir, PIECES_DIR, 'p_%05d.m4s') : path.join(dir, 'seg_%05d.m4s'),
    // No global/stream metadata or chapters reach the output: uploads may carry GPS, device and creation tags.
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
  ];
}

/** The renditions a ladder command writes, in output order. */
export function plannedRenditions(rungs: readonly LadderRung[], hasAudio: boolean): PlannedRendition[] {
  const video = rungs.map((r, i): PlannedRendition => ({ name: r.name, kind: 'video', dir: `v${i}`, rung: r }));
  return hasAudio ? [...video, { name: 'audio', kind: 'audio', dir: 'audio', rung: undefined }] : video;
}

/** 10-bit PQ/HLG → 8-bit SDR BT.709: linearise, map primaries, Hable curve, back to BT.709 limited range (zscale docs). */
const TONE_MAP = 'zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv';

/**
 * The decoded picture's shared pre-processing, run once before the split: deinterlace (bwdif, one frame per frame),
 * tone-map, then fps (makes VFR and > 60 fps sources CFR at the planned rate) and format (8-bit 4:2:0 for every rung).
 */
export function sharedVideoFilters(fixes: PictureFixes): string {
  const chain: string[] = [];
  if (fixes.deinterlace) chain.push('bwdif=mode=send_frame:parity=auto:deint=all');
  if (fixes.toneMap) chain.push(TONE_MAP);
  chain.push(`fps=${fixes.fps}`, 'format=yuv420p');
  return chain.join(',');
}

function encoderOptions(rung: LadderRung, o: LadderCommandOptions, fixes: PictureFixes, firstGopSec: number): string[] {
  const gop = Math.max(1, Math.round(fixes.fps * GOP_SECONDS));
  return [
    '-c:v',
    'libx264',
    '-threads',
    String(o.threads ?? 0),
    '-preset',
    o.preset ?? 'veryfast',
    '-profile:v',
    'high',
    '-pix_fmt',
    'yuv420p',
    // maxrate/bufsize cap the peak (see ladder.ts PEAK_FACTOR); bufsize in seconds of maxrate.
    '-b:v',
    String(rung.videoBitrate),
    '-maxrate',
    String(rung.maxBitrate),
    '-bufsize',
    String(Math.round(rung.maxBitrate * BUFSIZE_SECONDS)),
    // IDR every GOP_SECONDS (the first one after firstGopSec), none in between from scene cuts, closed GOPs: every
    // rung's keyframes sit on the same frames. A forced keyframe overrides keyint_min.
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-force_key_frames',
    keyframeExpression(firstGopSec, o.window),
    '-x264-params',
    'open-gop=0',
    ...(fixes.toneMap ? ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'] : []),
    // The fps filter already made the frames CFR; a window's first frame is not at 0 and must not be padded back to it.
    ...(o.window ? ['-fps_mode', 'passthrough'] : []),
  ];
}

const PREROLL_SECONDS = 1;

/** Input seek/limit for a window: decode from prerollSec before the start (ffmpeg seeks to the keyframe before that). */
function windowInputOptions(w: TimeWindow | undefined): string[] {
  if (!w) return [];
  const from = Math.max(0, w.startSec - (w.prerollSec ?? PREROLL_SECONDS));
  // One second past the end lets the fps filter see the frame after the cut, as it does in the one-piece run.
  const limit = w.endSec === undefined ? [] : ['-t', String(w.endSec + PREROLL_SECONDS - from)];
  return [...(from > 0 ? ['-ss', String(from)] : []), ...limit];
}

/**
 * After an input seek ffmpeg starts the timestamps at the seek point; setpts puts them back on the source's timeline,
 * the fps filter then picks frames exactly as in the one-piece run, and trim keeps this window's output frames.
 */
function windowFilters(w: TimeWindow | undefined, shared: string): string {
  if (!w) return shared;
  const from = Math.max(0, w.startSec - (w.prerollSec ?? PREROLL_SECONDS));
  const end = w.endSec === undefined ? '' : `:end=${w.endSec}`;
  return `setpts=PTS+${from}/TB,${shared},trim=start=${w.startSec}${end}`;
}

/**
 * The rungs' scales as a tree: each rung is scaled from the smallest larger rung at least CASCADE_MIN_RATIO times its
 * size in both directions, the others from the decoded source. A downscale's cost follows its input size, so the small
 * rungs get cheap: for 234p–1080p, 720p and 1080p come from the source, 540p from 1080p, 360p from 720p, 234p from
 * 540p. On a 16 Mb/s noisy 30 s 1080p upload the five scales from the source cost about 6.2 s of CPU, the tree 4.2 s.
 * Why not a chain of every next larger rung (3.4 s): its 1.33× step from 720p to 540p softens grain measurably, up to
 * 0.005 SSIM in the encoded 540p rung; one step of 2× or more does not. transcoder/test/scale-cascade.test.ts encodes
 * every rung from this graph and from bicubic scales straight from the source at the ladder bitrates and compares both
 * with a lanczos scale of the source. Rung i's frames leave on the label out(i), before any overlay, so a watermark
 * never reaches a smaller rung. The rungs may come in any order (planLadder's ascends).
 */
export function scaleCascade(rungs: readonly Pick<LadderRung, 'width' | 'height'>[], input: string, out: (i: number) => string): string[] {
  const largestFirst = rungs.map((_, i) => i).sort((a, b) => rungs[b]!.width * rungs[b]!.height - rungs[a]!.width * rungs[a]!.height);
  // parent: the smallest larger rung at least CASCADE_MIN_RATIO times this one's size; -1 (the source) when none is.
  const parent = new Map<number, number>();
  largestFirst.forEach((i, k) => {
    const r = rungs[i]!;
    const from = largestFirst
      .slice(0, k)
      .reverse()
      .find((j) => rungs[j]!.width >= r.width * CASCADE_MIN_RATIO && rungs[j]!.height >= r.height * CASCADE_MIN_RATIO);
    parent.set(i, from ?? -1);
  });
  const children = (p: number): number[] => largestFirst.filter((i) => parent.get(i) === p);
  const feed = (p: number, i: number): string => (p < 0 ? `n_${i}` : `n${p}_${i}`);
  const roots = children(-1);
  const steps = roots.length > 1 ? [`[${input}]split=${roots.length}${roots.map((i) => `[${feed(-1, i)}]`).join('')}`] : [];
  for (const i of largestFirst) {
    const r = rungs[i]!;
    const p = parent.get(i)!;
    const from = p < 0 && roots.length === 1 ? input : feed(p, i);
    const scale = `[${from}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1`;
    const below = children(i);
    steps.push(
      below.length ? `${scale},split=${below.length + 1}[${out(i)}]${below.map((c) => `[${feed(i, c)}]`).join('')}` : `${scale}[${out(i)}]`,
    );
  }
  return steps;
}

/** A rung is scaled from a larger rung only if that one is at least this many times its size in both directions. */
export const CASCADE_MIN_RATIO = 2;

const AUDIO_ENCODE = ['-c:a', 'aac', '-b:a', String(AUDIO_BITRATE), '-ac', '2', '-ar', String(AUDIO_SAMPLE_RATE)];

/**
 * One decode, one split, N encodes: the source is decoded once, the rungs are scaled in a cascade (scaleCascade) and
 * each is encoded on its own. Keyframes are forced on one grid (keyframeExpression) and scene-cut keyframes are off, so
 * segment boundaries match across rungs.
 * With copyTopRung the top rung is a stream copy and only the lower rungs go through the filter graph. Still series
 * are further outputs of the same split (stills.ts): with them even a pure remux decodes, once, and nothing else does.
 */
export function buildLadderPlan(o: LadderCommandOptions): FfmpegPlan {
  const fixes = o.fixes ?? { deinterlace: false, toneMap: false, fps: o.rungs[0]?.fps ?? 30 };
  // A stream copy carries no overlay: with a watermark every rung is encoded.
  const copy = o.copyTopRung === true && !o.watermark;
  const encoded = copy ? o.rungs.length - 1 : o.rungs.length;
  const stills = o.stills ?? [];
  // One split output feeds the whole scale cascade, one each the still series.
  const head = encoded > 0 ? 1 : 0;
  const branches = head + stills.length;
  const labels = Array.from({ length: branches }, (_, i) => `[s${i}]`).join('');
  const split = `[0:v:0]${windowFilters(o.window, sharedVideoFilters(fixes))},split=${branches}${labels}`;
  const wm = o.watermark;
  const scales = scaleCascade(o.rungs.slice(0, encoded), 's0', (i) => (wm ? `p${i}` : `v${i}`));
  const overlays = wm ? watermarkFilters(wm, o.rungs.slice(0, encoded), 1) : [];
  const taps = stills.map((s, j) => stillBranch(`s${head + j}`, s));
  const renditions = plannedRenditions(o.rungs, o.hasAudio);
  const firstGop = firstGopSeconds(o, copy);
  const outputs: FfmpegOutput[] = renditions.map((r, i) => {
    const dir = path.join(o.outDir, r.dir);
    const out = (options: string[]): FfmpegOutput => ({
      path: path.join(dir, 'index.m3u8'),
      options: [...options, ...hlsOptions(dir, o.window?.firstSegmentNumber, o.pieces ? firstGop : undefined)],
    });
    if (r.kind === 'audio') return out(['-map', '0:a:0', '-vn', ...(copy ? ['-c:a', 'copy'] : AUDIO_ENCODE)]);
    if (i >= encoded) return out(['-map', '0:v:0', '-an', '-c:v', 'copy']);
    return out(['-map', `[v${i}]`, '-an', ...encoderOptions(r.rung!, o, fixes, firstGop)]);
  });
  return {
    input: o.input,
    // -xerror: stop at the first decode error instead of concealing it, so a corrupt-midway upload fails with
    // TRANSCODE_SOURCE_CORRUPT rather than publishing glitched video (kids' content is reviewed frame by frame).
    inputOptions: ['-hide_banner', '-nostdin', '-xerror', ...windowInputOptions(o.window)],
    complexFilter: branches > 0 ? [split, ...scales, ...overlays, ...taps].join(';') : undefined,
    outputs: [...outputs, ...stills.map(stillOutput)],
    ...(overlays.length ? { images: [{ path: wm!.image.path }] } : {}),
    ...(o.niceness ? { niceness: o.niceness } : {}),
  };
}
