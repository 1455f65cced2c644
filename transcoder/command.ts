import path from 'node:path';
import type { LadderRung } from '../core/types.ts';

/** Seconds between IDR frames; HLS segments are a whole number of GOPs so every rung's segments line up. */
export const GOP_SECONDS = 2;
/** HLS target segment duration (Apple recommends 6 s). */
export const SEGMENT_SECONDS = 6;
export const AUDIO_BITRATE = 128_000;
export const AUDIO_SAMPLE_RATE = 48_000;

export interface LadderCommandOptions {
  readonly input: string;
  /** Directory that receives one sub-directory per rung (`v0`, `v1`, …) and `audio/`. */
  readonly outDir: string;
  readonly rungs: readonly LadderRung[];
  readonly hasAudio: boolean;
  /** x264 preset; default `veryfast`. */
  readonly preset?: string;
  /** ffmpeg -threads; 0 = automatic. */
  readonly threads?: number;
}

export interface FfmpegOutput {
  readonly path: string;
  readonly options: readonly string[];
}

/** A whole ffmpeg invocation as data: testable without running ffmpeg, turned into a command in run-ffmpeg.ts. */
export interface FfmpegPlan {
  readonly input: string;
  readonly inputOptions: readonly string[];
  readonly complexFilter: string | undefined;
  readonly outputs: readonly FfmpegOutput[];
}

export interface PlannedRendition {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  /** Directory name under outDir. */
  readonly dir: string;
  readonly rung: LadderRung | undefined;
}

function hlsOptions(dir: string): string[] {
  return [
    '-f', 'hls',
    '-hls_time', String(SEGMENT_SECONDS),
    // EVENT: ffmpeg rewrites the playlist after every segment via a temp file + rename, so the packager can publish
    // while the transcode runs; the packager writes the final VOD playlists itself.
    '-hls_playlist_type', 'event',
    '-hls_segment_type', 'fmp4',
    '-hls_fmp4_init_filename', 'init.mp4',
    // temp_file: segments are written as .tmp and renamed when complete; a listed segment is always whole.
    '-hls_flags', 'independent_segments+temp_file',
    '-hls_segment_filename', path.join(dir, 'seg_%05d.m4s'),
    // No global/stream metadata or chapters reach the output: uploads may carry GPS, device and creation tags.
    '-map_metadata', '-1', '-map_chapters', '-1',
  ];
}

/** The renditions a ladder command writes, in output order. */
export function plannedRenditions(rungs: readonly LadderRung[], hasAudio: boolean): PlannedRendition[] {
  const video = rungs.map((r, i): PlannedRendition => ({ name: r.name, kind: 'video', dir: `v${i}`, rung: r }));
  return hasAudio ? [...video, { name: 'audio', kind: 'audio', dir: 'audio', rung: undefined }] : video;
}

/**
 * One decode, one split, N encodes: the source is decoded once and every rung is scaled from the same frames.
 * Keyframes are forced every GOP_SECONDS and scene-cut keyframes are off, so segment boundaries match across rungs.
 */
export function buildLadderPlan(o: LadderCommandOptions): FfmpegPlan {
  const n = o.rungs.length;
  const fps = o.rungs[0]?.fps ?? 30;
  // fps before split makes the stream CFR once for all rungs; format=yuv420p turns 10-bit and 4:2:2 into 8-bit 4:2:0.
  const split = `[0:v:0]fps=${fps},format=yuv420p,split=${n}${o.rungs.map((_, i) => `[s${i}]`).join('')}`;
  const scales = o.rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1[v${i}]`);
  const gop = Math.max(1, Math.round(fps * GOP_SECONDS));
  const renditions = plannedRenditions(o.rungs, o.hasAudio);
  const outputs: FfmpegOutput[] = renditions.map((r, i) => {
    const dir = path.join(o.outDir, r.dir);
    const playlist = path.join(dir, 'index.m3u8');
    if (r.kind === 'audio') {
      return {
        path: playlist,
        options: ['-map', '0:a:0', '-vn', '-c:a', 'aac', '-b:a', String(AUDIO_BITRATE), '-ac', '2', '-ar', String(AUDIO_SAMPLE_RATE), ...hlsOptions(dir)],
      };
    }
    const rung = r.rung!;
    return {
      path: playlist,
      options: [
        '-map', `[v${i}]`, '-an',
        '-c:v', 'libx264', '-threads', String(o.threads ?? 0), '-preset', o.preset ?? 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
        '-b:v', String(rung.videoBitrate), '-maxrate', String(rung.maxBitrate), '-bufsize', String(rung.maxBitrate * 2),
        '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
        '-force_key_frames', `expr:gte(t,n_forced*${GOP_SECONDS})`,
        '-x264-params', 'open-gop=0',
        ...hlsOptions(dir),
      ],
    };
  });
  return {
    input: o.input,
    inputOptions: ['-hide_banner', '-nostdin'],
    complexFilter: [split, ...scales].join(';'),
    outputs,
  };
}
