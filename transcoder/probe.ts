import { PipelineError } from '../core/errors.ts';
import type { SourceProbe } from '../core/types.ts';
import { probeFile, type RawProbe, type RawStream } from '../media/ffprobe.ts';

/** "30000/1001" → 29.97; "0/0" → 0. */
export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  if (!n || !Number.isFinite(n)) return 0;
  return d ? n / d : n;
}

function rotationOf(s: RawStream): number {
  const fromSide = s.side_data_list?.find((d) => typeof d['rotation'] === 'number')?.['rotation'];
  const raw = typeof fromSide === 'number' ? fromSide : Number(s.tags?.['rotate'] ?? 0);
  return ((Math.round(raw) % 360) + 360) % 360;
}

/**
 * ffprobe's r_frame_rate is the lowest rate that represents every timestamp, avg_frame_rate the measured mean; they
 * differ by more than 1% only when frame durations vary (phone recordings, screen captures).
 */
export function isVariableRate(r: string | undefined, avg: string | undefined): boolean {
  const a = parseRate(r);
  const b = parseRate(avg);
  return a > 0 && b > 0 && Math.abs(a - b) / a > 0.01;
}

export interface ProbeOptions {
  readonly ffprobePath: string;
  /** Kill ffprobe after this many ms; default 30 s. */
  readonly timeoutMs?: number;
}

/** Probes a source and checks it has a decodable video stream. */
export async function probeSource(file: string, opts: ProbeOptions): Promise<SourceProbe> {
  const { probe: raw } = await probeFile(file, { ...opts, failureCode: 'TRANSCODE_PROBE_FAILED' });
  return toSourceProbe(raw, file);
}

/** What the transcoder needs from a probe that was already made (e.g. the strip's probe of the master it wrote). */
export function toSourceProbe(raw: RawProbe, file: string): SourceProbe {
  // Cover art in audio files shows up as a video stream with attached_pic; it is not a video.
  const v = raw.streams.find((s) => s.codec_type === 'video' && !s.disposition?.['attached_pic']);
  if (!v || !v.width || !v.height) throw new PipelineError('TRANSCODE_NO_VIDEO', 'No video stream found.', { file });
  const a = raw.streams.find((s) => s.codec_type === 'audio');
  const durationSec = Number(raw.format?.duration ?? 0);
  return {
    container: raw.format?.format_name ?? '',
    durationSec: Number.isFinite(durationSec) ? durationSec : 0,
    sizeBytes: Number(raw.format?.size ?? 0),
    video: {
      codec: v.codec_name ?? 'unknown',
      width: v.width,
      height: v.height,
      fps: parseRate(v.avg_frame_rate) || parseRate(v.r_frame_rate),
      pixFmt: v.pix_fmt ?? 'unknown',
      rotation: rotationOf(v),
      bitRate: v.bit_rate ? Number(v.bit_rate) : null,
      fieldOrder: v.field_order ?? 'unknown',
      colorTransfer: v.color_transfer ?? 'unknown',
      profile: v.profile ?? 'unknown',
      variableFrameRate: isVariableRate(v.r_frame_rate, v.avg_frame_rate),
    },
    audio: a
      ? {
          codec: a.codec_name ?? 'unknown',
          channels: a.channels ?? 0,
          sampleRate: Number(a.sample_rate ?? 0),
          bitRate: a.bit_rate ? Number(a.bit_rate) : null,
          profile: a.profile ?? 'unknown',
        }
      : null,
  };
}
