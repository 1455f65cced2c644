import { PipelineError } from '../core/errors.ts';

/**
 * Demuxers an upload may be opened with, by the first name ffmpeg gives each (`mov` stands for
 * "mov,mp4,m4a,3gp,3g2,mj2", `matroska` for "matroska,webm"). Every one of them reads only the bytes of the file it
 * was given. Left out on purpose: playlist, manifest and script demuxers that open further files or URLs (hls, dash,
 * concat/ffconcat, imf, sdp/rtp, webm_dash_manifest, tee), image sequences (image2 and the *_pipe image demuxers),
 * lavfi, and raw elementary streams (no container, no duration).
 */
export const ALLOWED_DEMUXERS = ['mov', 'matroska', 'avi', 'mpegts', 'flv', 'mpeg', 'asf', 'ogg', 'dv'] as const;
export type AllowedDemuxer = (typeof ALLOWED_DEMUXERS)[number];

/** Demuxers of still images: refused as "not a video" rather than as an unsupported container. */
const IMAGE_DEMUXERS = /^(image2|image2pipe|\w+_pipe|gif|apng|ico|webp|jpegxl|png|bmp|tiff)$/;

/**
 * The only protocol untrusted media may use. `file` alone: no http(s), data:, pipe:, concat:, subfile:, crypto:,
 * udp/rtp, so even a demuxer that tries to open a reference cannot leave the local file it was handed.
 */
export const PROTOCOL_WHITELIST = 'file';

/** A media file as the media layer hands it on: where it is and the allow-listed demuxer that must open it. */
export interface MediaInput {
  readonly path: string;
  readonly demuxer: AllowedDemuxer;
}

export function isAllowedDemuxer(name: string): name is AllowedDemuxer {
  return (ALLOWED_DEMUXERS as readonly string[]).includes(name);
}

export function isImageDemuxer(name: string): boolean {
  return IMAGE_DEMUXERS.test(name);
}

/**
 * The MediaInput for a file whose probe reported `formatName` (ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2").
 * Throws INGEST_UNSUPPORTED_CONTAINER for anything outside the allow-list, so a probe from elsewhere cannot widen it.
 */
export function mediaInput(path: string, formatName: string): MediaInput {
  const demuxer = formatName.split(',')[0] ?? '';
  if (!isAllowedDemuxer(demuxer)) {
    throw new PipelineError('INGEST_UNSUPPORTED_CONTAINER', `Container "${formatName || 'unknown'}" is not accepted.`, {
      container: formatName,
    });
  }
  return { path, demuxer };
}

/**
 * Input options that go before `-i` on every ffmpeg/ffprobe run over user data: the protocol allow-list, the format
 * allow-list, and the demuxer forced by name so no probing happens twice. mov's data references (alias/url boxes
 * pointing at other files) stay off explicitly rather than relying on the build's default.
 */
export function inputArgs(input: Pick<MediaInput, 'demuxer'>): string[] {
  return [
    '-protocol_whitelist',
    PROTOCOL_WHITELIST,
    '-format_whitelist',
    ALLOWED_DEMUXERS.join(','),
    '-f',
    input.demuxer,
    ...(input.demuxer === 'mov' ? ['-enable_drefs', '0', '-use_absolute_path', '0'] : []),
  ];
}

/** For the first probe of an upload, before its demuxer is known: the same allow-lists, the demuxer still detected. */
export function detectArgs(): string[] {
  return ['-protocol_whitelist', PROTOCOL_WHITELIST, '-format_whitelist', ALLOWED_DEMUXERS.join(',')];
}
