import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';
import { PipelineError, type ErrorCode } from '../core/errors.ts';
import { detectArgs, inputArgs, isImageDemuxer, mediaInput, type MediaInput } from './allow-list.ts';

const execFileAsync = promisify(execFile);

const StreamSchema = z.object({
  index: z.number().optional(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  pix_fmt: z.string().optional(),
  avg_frame_rate: z.string().optional(),
  r_frame_rate: z.string().optional(),
  bit_rate: z.string().optional(),
  channels: z.number().optional(),
  sample_rate: z.string().optional(),
  duration: z.string().optional(),
  nb_frames: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.record(z.string(), z.unknown())).optional(),
  disposition: z.record(z.string(), z.number()).optional(),
  field_order: z.string().optional(),
  color_transfer: z.string().optional(),
  profile: z.string().optional(),
});
const ProbeSchema = z.object({
  streams: z.array(StreamSchema).default([]),
  format: z.object({ format_name: z.string().default(''), duration: z.string().optional(), size: z.string().optional() }).optional(),
});
export type RawStream = z.infer<typeof StreamSchema>;
export type RawProbe = z.infer<typeof ProbeSchema>;

export interface FfprobeOptions {
  readonly ffprobePath: string;
  /** Kill ffprobe after this many ms; default 30 000. */
  readonly timeoutMs?: number;
  /** Code thrown when ffprobe cannot read the file; default INGEST_UNREADABLE. */
  readonly failureCode?: ErrorCode;
}

interface ExecFailure {
  readonly stderr?: unknown;
}
const stderrOf = (err: unknown): string => String((err as ExecFailure).stderr ?? '');

async function exec(o: FfprobeOptions, args: string[], maxBuffer: number): Promise<string> {
  const { stdout } = await execFileAsync(o.ffprobePath, ['-hide_banner', '-v', 'error', ...args], {
    timeout: o.timeoutMs ?? 30_000,
    maxBuffer,
  });
  return stdout;
}

/**
 * Runs ffprobe with `args` on an input the media layer already vetted (its demuxer forced, protocols and formats
 * allow-listed) and returns stdout. Everything besides the format/streams JSON (packet lists) goes through here too.
 */
export async function runFfprobe(input: MediaInput, args: readonly string[], o: FfprobeOptions & { maxBuffer?: number }): Promise<string> {
  try {
    return await exec(o, [...args, ...inputArgs(input), '-i', input.path], o.maxBuffer ?? 64 * 1024 * 1024);
  } catch (err) {
    const code = o.failureCode ?? 'INGEST_UNREADABLE';
    throw new PipelineError(
      code,
      'ffprobe could not read the file.',
      { file: input.path, stderr: stderrOf(err).slice(-2000) },
      { cause: err },
    );
  }
}

function parse(stdout: string, o: FfprobeOptions): RawProbe {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (err) {
    throw new PipelineError(o.failureCode ?? 'INGEST_UNREADABLE', 'ffprobe printed no JSON.', {}, { cause: err });
  }
  const parsed = ProbeSchema.safeParse(json);
  if (!parsed.success) throw new PipelineError(o.failureCode ?? 'INGEST_UNREADABLE', 'ffprobe output has an unexpected shape.');
  return parsed.data;
}

const JSON_ARGS = ['-print_format', 'json', '-show_format', '-show_streams'];

/** Format and streams of a vetted input. */
export async function probeMedia(input: MediaInput, o: FfprobeOptions): Promise<RawProbe> {
  return parse(await runFfprobe(input, JSON_ARGS, o), o);
}

/** ffmpeg names the demuxer it refused: "[concat @ 0x55…] Format not on whitelist 'mov,…'". */
const REFUSED = /\[([\w-]+) @ 0x[0-9a-f]+\] Format not on whitelist/;

/**
 * The first look at a file (an upload, or a master whose demuxer is not recorded): the demuxer is detected from the bytes, but only among the allow-listed ones, and with
 * file as the only protocol, so a playlist, manifest or script is refused before it opens anything. Returns the
 * vetted input every later step uses. Refusals: INGEST_UNSUPPORTED_CONTAINER (with the demuxer ffmpeg detected),
 * INGEST_NOT_VIDEO for still images, INGEST_UNREADABLE for bytes no demuxer recognises.
 */
export async function probeFile(file: string, o: FfprobeOptions): Promise<{ input: MediaInput; probe: RawProbe }> {
  let stdout: string;
  try {
    stdout = await exec(o, [...JSON_ARGS, ...detectArgs(), '-i', file], 64 * 1024 * 1024);
  } catch (err) {
    const stderr = stderrOf(err);
    const refused = REFUSED.exec(stderr)?.[1];
    if (refused && isImageDemuxer(refused)) {
      throw new PipelineError('INGEST_NOT_VIDEO', `A still image (${refused}) is not a video.`, { container: refused });
    }
    if (refused) throw new PipelineError('INGEST_UNSUPPORTED_CONTAINER', `Container "${refused}" is not accepted.`, { container: refused });
    throw new PipelineError(
      o.failureCode ?? 'INGEST_UNREADABLE',
      'ffprobe could not read the upload.',
      { stderr: stderr.slice(-2000) },
      { cause: err },
    );
  }
  const probe = parse(stdout, o);
  return { input: mediaInput(file, probe.format?.format_name ?? ''), probe };
}
