/**
 * HEVC keeps SEI NAL units not only in the stream but also in the decoder configuration record (hvcC, ISO/IEC
 * 14496-15 §8.3.3), which ffmpeg's filter_units (5.x) passes through untouched: x265 writes its settings there and
 * any camera could write user data. These helpers neutralise such SEI units in place, keeping the record's length,
 * so the container around it needs no rewrite.
 */

const SEI_PREFIX = 39;
const SEI_SUFFIX = 40;
/** user_data_registered_itu_t_t35 and user_data_unregistered (H.265 Annex D.2.1). */
const USER_DATA_TYPES = new Set([4, 5]);
/** Byte every neutralised payload consists of: no zero bytes, so no emulation prevention is ever needed. */
const FILL = 0xaa;

/** Removes emulation-prevention bytes (00 00 03 → 00 00) from a NAL unit's payload. */
function unescape(nal: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

/** True when an SEI NAL unit (2-byte header included) carries a user-data message, or cannot be parsed. */
export function seiHasUserData(nal: Buffer): boolean {
  const rbsp = unescape(nal.subarray(2));
  let i = 0;
  // Stop at rbsp_trailing_bits (0x80, possibly followed by zero bytes).
  while (i < rbsp.length && !(rbsp[i] === 0x80 && rbsp.subarray(i + 1).every((b) => b === 0))) {
    let type = 0;
    while (rbsp[i] === 0xff) {
      type += 255;
      i++;
    }
    if (i >= rbsp.length) return true;
    type += rbsp[i++]!;
    let size = 0;
    while (rbsp[i] === 0xff) {
      size += 255;
      i++;
    }
    if (i >= rbsp.length) return true;
    size += rbsp[i++]!;
    if (USER_DATA_TYPES.has(type)) return true;
    i += size;
    if (i > rbsp.length) return true;
  }
  return false;
}

const sizeBytes = (s: number): number => Math.floor(s / 255) + 1;

/** One user_data_unregistered message of payload size `s`, filler only (UUID included). */
function fillerMessage(s: number): number[] {
  const size: number[] = [];
  for (let left = s; ; left -= 255) {
    if (left >= 255) size.push(0xff);
    else {
      size.push(left);
      break;
    }
  }
  return [5, ...size, ...new Array<number>(s).fill(FILL)];
}

/**
 * An SEI NAL unit of exactly `length` bytes whose only content is filler user_data_unregistered messages (one, or
 * two when no single payload size fits), or undefined when `length` is too short to hold one (< 21 bytes).
 */
export function fillerSei(header: Buffer, length: number): Buffer | undefined {
  const one = (s: number): number => 2 + 1 + sizeBytes(s) + s + 1;
  for (let s = 16; one(s) <= length; s++) {
    if (one(s) === length) return Buffer.from([...header.subarray(0, 2), ...fillerMessage(s), 0x80]);
  }
  for (const first of [16, 17]) {
    const head = 1 + sizeBytes(first) + first;
    for (let s = 16; 2 + head + 1 + sizeBytes(s) + s + 1 <= length; s++) {
      if (2 + head + 1 + sizeBytes(s) + s + 1 === length) {
        return Buffer.from([...header.subarray(0, 2), ...fillerMessage(first), ...fillerMessage(s), 0x80]);
      }
    }
  }
  return undefined;
}

export type HvccRewrite =
  | { readonly kind: 'clean' }
  | { readonly kind: 'rewritten'; readonly record: Buffer }
  | { readonly kind: 'unfixable'; readonly reason: string };

/**
 * Walks an hvcC record's NAL arrays and replaces every SEI unit that carries user data with a same-length filler SEI.
 * `clean` when nothing had to change; `unfixable` when the record is malformed or a unit is too short to refill.
 */
export function neutraliseHvccUserData(hvcc: Buffer): HvccRewrite {
  if (hvcc.length < 23 || hvcc[0] !== 1) return { kind: 'unfixable', reason: 'not an hvcC record' };
  const out = Buffer.from(hvcc);
  let changed = false;
  let p = 23;
  const arrays = hvcc[22]!;
  for (let a = 0; a < arrays; a++) {
    if (p + 3 > hvcc.length) return { kind: 'unfixable', reason: 'truncated array header' };
    const type = hvcc[p]! & 0x3f;
    const count = hvcc.readUInt16BE(p + 1);
    p += 3;
    for (let n = 0; n < count; n++) {
      if (p + 2 > hvcc.length) return { kind: 'unfixable', reason: 'truncated NAL length' };
      const len = hvcc.readUInt16BE(p);
      p += 2;
      if (p + len > hvcc.length) return { kind: 'unfixable', reason: 'truncated NAL unit' };
      const nal = hvcc.subarray(p, p + len);
      if ((type === SEI_PREFIX || type === SEI_SUFFIX) && seiHasUserData(nal)) {
        const filler = fillerSei(nal, len);
        if (!filler) return { kind: 'unfixable', reason: `SEI unit of ${len} bytes is too short to refill` };
        filler.copy(out, p);
        changed = true;
      }
      p += len;
    }
  }
  return changed ? { kind: 'rewritten', record: out } : { kind: 'clean' };
}
