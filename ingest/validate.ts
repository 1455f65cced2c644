import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';

const execFileAsync = promisify(execFile);

export interface ValidateOptions {
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
  readonly container: string;
  readonly durationSec: number;
  readonly width: number;
  readonly height: number;
  readonly videoCodec: string;
  readonly hasAudio: boolean;
}

const Stream = z.object({
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  duration: z.string().optional(),
  nb_frames: z.string().optional(),
  disposition: z.record(z.string(), z.number()).optional(),
});
const Probe = z.object({
  streams: z.array(Stream).default([]),
  format: z.object({ format_name: z.string().default(''), duration: z.string().optional() }).optional(),
});

/** Containers ffmpeg uses for single still images; a still is not a video even though it has a "video" stream. */
const IMAGE_FORMATS = /(^|,)(image2|\w+_pipe|gif|ico|apng)(,|$)/;

/** Its own small ffprobe call: ingest runs before transcoder/ and may not import it (data flows one way). */
async function probe(file: string, o: ValidateOptions): Promise<z.infer<typeof Probe>> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(o.ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], {
      timeout: o.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    throw new PipelineError('INGEST_UNREADABLE', 'ffprobe could not read the upload.', { stderr: stderr.slice(-2000) }, { cause: err });
  }
  const parsed = Probe.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new PipelineError('INGEST_UNREADABLE', 'ffprobe output has an unexpected shape.');
  return parsed.data;
}

/**
 * Decides by content, never by extension or client MIME: ffprobe must find a real (non-cover-art, non-still) video
 * stream with sane dimensions and a duration within bounds. Every refusal is a stable INGEST_* code (422).
 */
export async function validateUpload(file: string, o: ValidateOptions): Promise<ValidatedSource> {
  const st = await stat(file);
  if (st.size === 0) throw new PipelineError('INGEST_EMPTY', 'The upload is empty.');
  const p = await probe(file, o);
  const container = p.format?.format_name ?? '';
  const v = p.streams.find((s) => s.codec_type === 'video' && !s.disposition?.['attached_pic']);
  if (!v || IMAGE_FORMATS.test(container)) {
    throw new PipelineError('INGEST_NOT_VIDEO', `No video stream (container ${container || 'unknown'}).`, { container });
  }
  const minSide = o.minSide ?? 16;
  const maxSide = o.maxSide ?? 8192;
  const w = v.width ?? 0;
  const h = v.height ?? 0;
  if (w < minSide || h < minSide || w > maxSide || h > maxSide) {
    throw new PipelineError('INGEST_BAD_DIMENSIONS', `Video is ${w}x${h}; allowed ${minSide}-${maxSide} per side.`, { width: w, height: h });
  }
  const durationSec = Number(p.format?.duration ?? v.duration ?? NaN);
  if (!Number.isFinite(durationSec) || durationSec <= 0) {
    throw new PipelineError('INGEST_BAD_DURATION', 'The video has no duration.', { duration: p.format?.duration ?? null });
  }
  if (durationSec > o.maxDurationSec) {
    throw new PipelineError('INGEST_TOO_LONG', `Video is ${Math.round(durationSec)} s; the limit is ${o.maxDurationSec} s.`, {
      durationSec, maxDurationSec: o.maxDurationSec,
    });
  }
  return {
    container, durationSec, width: w, height: h, videoCodec: v.codec_name ?? 'unknown',
    hasAudio: p.streams.some((s) => s.codec_type === 'audio'),
  };
}

/** Exported for the strip step's truncation check: the remuxed file's duration as ffprobe sees it. */
export async function probeDurationSec(file: string, o: Pick<ValidateOptions, 'ffprobePath' | 'timeoutMs'>): Promise<number> {
  const p = await probe(file, { ...o, maxDurationSec: Number.POSITIVE_INFINITY });
  return Number(p.format?.duration ?? NaN);
}
