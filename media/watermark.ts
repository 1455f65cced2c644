import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import { PROTOCOL_WHITELIST } from './allow-list.ts';

const execFileAsync = promisify(execFile);

/** The deployment's watermark PNG as the media layer vetted it at startup. */
export interface WatermarkImage {
  readonly path: string;
  readonly width: number;
  readonly height: number;
}

/** Largest accepted side: a watermark is scaled down to a few percent of the picture, never up. */
export const WATERMARK_MAX_SIDE = 4096;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Options before `-i` of the watermark: the PNG demuxer forced and the only one allowed, file the only protocol. The
 * image comes from the operator, not a user, but it is opened with the same care: a renamed playlist or an APNG
 * cannot make ffmpeg read anything else.
 */
export function watermarkInputArgs(): string[] {
  return ['-protocol_whitelist', PROTOCOL_WHITELIST, '-format_whitelist', 'png_pipe', '-f', 'png_pipe'];
}

const Probe = z.object({
  streams: z.array(z.object({ codec_name: z.string().optional(), width: z.number().optional(), height: z.number().optional() })),
});

const invalid = (file: string, why: string, cause?: unknown): PipelineError =>
  new PipelineError('OPS_WATERMARK_INVALID', `${file}: ${why}.`, { file, why }, { cause });

async function signatureOk(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw invalid(file, 'cannot be opened', err);
  });
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return bytesRead === 8 && head.equals(PNG_SIGNATURE);
  } finally {
    await fh.close();
  }
}

/**
 * Checks the watermark once, at startup: a PNG by its signature, one picture ffprobe reads as png, at most
 * WATERMARK_MAX_SIDE on each side. A bad file stops the worker with OPS_WATERMARK_INVALID instead of failing every
 * transcode later.
 */
export async function probeWatermark(
  file: string,
  o: { readonly ffprobePath: string; readonly timeoutMs?: number },
): Promise<WatermarkImage> {
  if (!(await signatureOk(file))) throw invalid(file, 'not a PNG (signature)');
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(
      o.ffprobePath,
      ['-hide_banner', '-v', 'error', '-print_format', 'json', '-show_streams', ...watermarkInputArgs(), '-i', file],
      { timeout: o.timeoutMs ?? 10_000, maxBuffer: 1024 * 1024 },
    ));
  } catch (err) {
    throw invalid(file, 'ffprobe cannot read it as a PNG', err);
  }
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (err) {
    throw invalid(file, 'ffprobe printed no JSON', err);
  }
  const parsed = Probe.safeParse(json);
  const streams = parsed.success ? parsed.data.streams : [];
  const s = streams[0];
  if (streams.length !== 1 || s?.codec_name !== 'png' || !s.width || !s.height) throw invalid(file, 'not one PNG picture');
  if (s.width > WATERMARK_MAX_SIDE || s.height > WATERMARK_MAX_SIDE) throw invalid(file, `larger than ${WATERMARK_MAX_SIDE} px`);
  return { path: file, width: s.width, height: s.height };
}
