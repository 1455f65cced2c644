import { stat } from 'node:fs/promises';
import { PipelineError } from '../core/errors.ts';
import type { MediaInput } from '../media/allow-list.ts';
import { probeFile, type RawProbe } from '../media/ffprobe.ts';

export interface ValidateUploadOptions {
  readonly ffprobePath: string;
  /** Longest accepted duration in seconds (config MAX_DURATION_SEC). */
  readonly maxDurationSec: number;
  /** Smallest accepted width/height in pixels; default 16. */
  readonly minSide?: number;
  /** Largest accepted width/height in pixels; default 8192 (8K). */
  readonly maxSide?: number;
  /** Kill ffprobe after this many ms; default 30 000. */
  readonly timeoutMs?: number;
}

export interface ValidatedSource {
  /** The upload as the media layer vetted it: every later ffmpeg run opens it with this demuxer only. */
  readonly input: MediaInput;
  readonly container: string;
  readonly durationSec: number;
  readonly width: number;
  readonly height: number;
  readonly videoCodec: string;
  readonly hasAudio: boolean;
  /** The probe these facts came from, passed forward (a transcode that starts on the upload needs no second one). */
  readonly probe: RawProbe;
}

/**
 * Decides by content, never by extension or client MIME: the media layer must accept the container (no playlists,
 * manifests or scripts), and ffprobe must find a real (non-cover-art) video stream with sane dimensions and a
 * duration within bounds. Every refusal is a stable INGEST_* code (422).
 */
export async function validateUpload(file: string, o: ValidateUploadOptions): Promise<ValidatedSource> {
  const st = await stat(file);
  if (st.size === 0) throw new PipelineError('INGEST_EMPTY', 'The upload is empty.');
  const { input, probe: p } = await probeFile(file, { ffprobePath: o.ffprobePath, timeoutMs: o.timeoutMs });
  const container = p.format?.format_name ?? '';
  const v = p.streams.find((s) => s.codec_type === 'video' && !s.disposition?.['attached_pic']);
  if (!v) throw new PipelineError('INGEST_NOT_VIDEO', `No video stream (container ${container || 'unknown'}).`, { container });
  const minSide = o.minSide ?? 16;
  const maxSide = o.maxSide ?? 8192;
  const w = v.width ?? 0;
  const h = v.height ?? 0;
  if (w < minSide || h < minSide || w > maxSide || h > maxSide) {
    throw new PipelineError('INGEST_BAD_DIMENSIONS', `Video is ${w}x${h}; allowed ${minSide}-${maxSide} per side.`, {
      width: w,
      height: h,
    });
  }
  const durationSec = Number(p.format?.duration ?? v.duration ?? NaN);
  if (!Number.isFinite(durationSec) || durationSec <= 0) {
    throw new PipelineError('INGEST_BAD_DURATION', 'The video has no duration.', { duration: p.format?.duration ?? null });
  }
  if (durationSec > o.maxDurationSec) {
    throw new PipelineError('INGEST_TOO_LONG', `Video is ${Math.round(durationSec)} s; the limit is ${o.maxDurationSec} s.`, {
      durationSec,
      maxDurationSec: o.maxDurationSec,
    });
  }
  return {
    input,
    container,
    durationSec,
    width: w,
    height: h,
    videoCodec: v.codec_name ?? 'unknown',
    hasAudio: p.streams.some((s) => s.codec_type === 'audio'),
    probe: p,
  };
}
