import type { AllowedDemuxer } from './allow-list.ts';

/**
 * How many leading bytes sniffContainer wants: enough for five MPEG-TS packets at the widest stride (204) from
 * anywhere in the first ~3 KiB, and for the start codes of DV and MPEG-PS that may sit a little way in.
 */
export const SNIFF_BYTES = 4096;

/** Box types a QuickTime/ISO-BMFF file (mov, mp4, m4v, 3gp, mj2) may start with, as ffmpeg's mov probe knows them. */
const MOV_BOXES = new Set([
  'ftyp',
  'styp',
  'moov',
  'mdat',
  'moof',
  'sidx',
  'free',
  'skip',
  'wide',
  'junk',
  'pnot',
  'pict',
  'PICT',
  'uuid',
  'udta',
  'prfl',
  'meta',
  'jP  ', // Motion JPEG 2000 signature box
]);
const ASF_GUID = Buffer.from('3026b2758e66cf11a6d900aa0062ce6c', 'hex');
const AVI_FORMS = new Set(['AVI ', 'AVIX', 'AVI\x19', 'AMV ', 'ON2f']);
/** TS packets: 188 bytes, 192 (M2TS/Blu-ray: 4-byte timecode first) and 204 (with Reed-Solomon parity). */
const TS_STRIDES = [188, 192, 204];
const TS_PACKETS = 5;

const ascii = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');

/**
 * Which allow-listed container (media/allow-list.ts) the first bytes of a file look like, or undefined when they
 * look like none of them. Lenient on purpose: this runs on the first few KiB of an upload so that a file that is
 * plainly not a video (a document, an archive, random bytes) is refused before the rest of it is sent; a refusal
 * here costs a parent their upload, while a file that only looks like a video is still probed, scanned and
 * validated in full later. So any plausible signature is enough, with no check of what follows it.
 */
export function sniffContainer(head: Uint8Array): AllowedDemuxer | undefined {
  if (head.length >= 8 && MOV_BOXES.has(ascii(head, 4, 8))) return 'mov';
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'matroska';
  if (head.length >= 12 && ['RIFF', 'ON2 '].includes(ascii(head, 0, 4)) && AVI_FORMS.has(ascii(head, 8, 12))) return 'avi';
  if (head.length >= 3 && ascii(head, 0, 3) === 'FLV') return 'flv';
  if (head.length >= 16 && ASF_GUID.equals(head.subarray(0, 16))) return 'asf';
  if (head.length >= 4 && ascii(head, 0, 4) === 'OggS') return 'ogg';
  if (looksLikeMpegTs(head)) return 'mpegts';
  if (looksLikeMpegPs(head)) return 'mpeg';
  if (hasDvBlockHeader(head)) return 'dv';
  return undefined;
}

/** Sync bytes (0x47) TS_PACKETS times in a row at one of the strides, starting anywhere a packet could start. */
function looksLikeMpegTs(b: Uint8Array): boolean {
  for (const stride of TS_STRIDES) {
    const span = stride * (TS_PACKETS - 1);
    for (let start = 0; start + span < b.length; start++) {
      let k = 0;
      while (k < TS_PACKETS && b[start + k * stride] === 0x47) k++;
      if (k === TS_PACKETS) return true;
    }
  }
  return false;
}

/**
 * A program stream starts with a pack header (00 00 01 BA); a file cut from one may start with a system header, a
 * PES packet or an MPEG video sequence header instead. Other start codes only count at the very start.
 */
function looksLikeMpegPs(b: Uint8Array): boolean {
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1) {
    const id = b[3]!;
    if (id === 0xb3 || id === 0xba || id === 0xbb || id === 0xbd || (id >= 0xc0 && id <= 0xef)) return true;
  }
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1 && b[i + 3] === 0xba) return true;
  return false;
}

/** The header of a DV DIF sequence (1F 07 00 3F, or BF for 625/50): what ffmpeg's dv probe looks for. */
function hasDvBlockHeader(b: Uint8Array): boolean {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 0x1f && b[i + 1] === 0x07 && b[i + 2] === 0x00 && (b[i + 3]! & 0x7f) === 0x3f) return true;
  }
  return false;
}
