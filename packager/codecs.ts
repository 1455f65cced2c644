import { readFile } from 'node:fs/promises';
import { PipelineError } from '../core/errors.ts';

/**
 * RFC 6381 codec string for H.264 from the avcC box of an fMP4 init segment: avc1.PPCCLL, where PP is
 * AVCProfileIndication, CC the constraint flags and LL AVCLevelIndication — read from the stream, not assumed.
 */
export function avcCodecFromInit(init: Buffer): string | undefined {
  const at = init.indexOf('avcC', 0, 'latin1');
  if (at < 0 || at + 8 > init.length) return undefined;
  // Box layout after the type: configurationVersion(1) profile(1) compatibility(1) level(1).
  const hex = (b: number | undefined): string => (b ?? 0).toString(16).padStart(2, '0');
  return `avc1.${hex(init[at + 5])}${hex(init[at + 6])}${hex(init[at + 7])}`;
}

function readDescriptor(buf: Buffer, pos: number): { tag: number; body: number; end: number } | undefined {
  if (pos >= buf.length) return undefined;
  const tag = buf[pos]!;
  let size = 0;
  let i = pos + 1;
  for (let n = 0; n < 4 && i < buf.length; n++, i++) {
    const b = buf[i]!;
    size = (size << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) {
      i++;
      break;
    }
  }
  return { tag, body: i, end: i + size };
}

/** AAC codec string from the esds AudioSpecificConfig: mp4a.40.<audioObjectType> (2 = AAC-LC), per ISO 14496-1/-3. */
export function aacCodecFromInit(init: Buffer): string | undefined {
  const esds = init.indexOf('esds', init.indexOf('mp4a', 0, 'latin1'), 'latin1');
  if (esds < 0) return undefined;
  const es = readDescriptor(init, esds + 8); // 'esds' + version/flags
  if (!es || es.tag !== 0x03) return undefined;
  const flags = init[es.body + 2] ?? 0;
  let p = es.body + 3;
  if (flags & 0x80) p += 2; // dependsOn_ES_ID
  if (flags & 0x40) p += 1 + (init[p] ?? 0); // URL
  if (flags & 0x20) p += 2; // OCR_ES_ID
  const dc = readDescriptor(init, p);
  if (!dc || dc.tag !== 0x04) return undefined;
  const objectType = init[dc.body] ?? 0;
  const dsi = readDescriptor(init, dc.body + 13);
  if (!dsi || dsi.tag !== 0x05) return undefined;
  const aot = (init[dsi.body] ?? 0) >> 3;
  return aot > 0 ? `mp4a.${objectType.toString(16)}.${aot}` : undefined;
}

export async function codecOfInitFile(file: string, kind: 'video' | 'audio'): Promise<string> {
  const buf = await readFile(file);
  const codec = kind === 'video' ? avcCodecFromInit(buf) : aacCodecFromInit(buf);
  if (!codec)
    throw new PipelineError('PACKAGE_BAD_RENDITION', `Cannot read the ${kind} codec configuration of an init segment.`, { file, kind });
  return codec;
}
