/**
 * A small ISO BMFF (ISO/IEC 14496-12) reader: just enough of the box tree of fMP4 init and media segments to find
 * every sample's byte range, duration and sync flag, which the I-frame playlists and the validator need.
 */

export interface Box {
  readonly type: string;
  /** Absolute offset of the box header in the buffer. */
  readonly offset: number;
  readonly size: number;
  /** Absolute offset of the first payload byte (after size/type/largesize). */
  readonly body: number;
}

/** The box headers between `start` and `end`; stops at a truncated box instead of reading past the buffer. */
export function readBoxes(buf: Buffer, start = 0, end = buf.length): Box[] {
  const out: Box[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let body = pos + 8;
    if (size === 1) {
      if (pos + 16 > end) break;
      size = Number(buf.readBigUInt64BE(pos + 8));
      body = pos + 16;
    } else if (size === 0) {
      size = end - pos; // "box extends to the end of the file" (§4.2)
    }
    if (size < body - pos || pos + size > end) break;
    out.push({ type, offset: pos, size, body });
    pos += size;
  }
  return out;
}

export function childBoxes(buf: Buffer, parent: Box): Box[] {
  return readBoxes(buf, parent.body, parent.offset + parent.size);
}

/** First box of `type` along a path of container boxes, e.g. findBox(buf, ['moov', 'trak', 'mdia', 'mdhd']). */
export function findBox(buf: Buffer, pathTypes: readonly string[], start = 0, end = buf.length): Box | undefined {
  const [head, ...rest] = pathTypes;
  const box = readBoxes(buf, start, end).find((b) => b.type === head);
  if (!box || rest.length === 0) return box;
  return findBox(buf, rest, box.body, box.offset + box.size);
}

/** Media timescale (ticks per second) from the init segment's mdhd (§8.4.2). */
export function mediaTimescale(init: Buffer): number | undefined {
  const mdhd = findBox(init, ['moov', 'trak', 'mdia', 'mdhd']);
  if (!mdhd) return undefined;
  const version = init[mdhd.body] ?? 0;
  // version 1: creation(8) modification(8) timescale(4); version 0: creation(4) modification(4) timescale(4).
  return init.readUInt32BE(mdhd.body + 4 + (version === 1 ? 16 : 8));
}

/** trex defaults (§8.8.3) that apply when neither tfhd nor trun carries a value. */
export interface TrackDefaults {
  readonly duration: number;
  readonly size: number;
  readonly flags: number;
}

export function trackDefaults(init: Buffer): TrackDefaults {
  const trex = findBox(init, ['moov', 'mvex', 'trex']);
  if (!trex) return { duration: 0, size: 0, flags: 0 };
  // version/flags(4) track_ID(4) default_sample_description_index(4) duration(4) size(4) flags(4)
  return { duration: init.readUInt32BE(trex.body + 12), size: init.readUInt32BE(trex.body + 16), flags: init.readUInt32BE(trex.body + 20) };
}

export interface Sample {
  /** Absolute byte offset of the sample data in the segment file. */
  readonly offset: number;
  readonly size: number;
  /** In media timescale ticks. */
  readonly duration: number;
  /** sample_is_non_sync_sample == 0 (§8.8.3.1): a random access point. */
  readonly sync: boolean;
}

export interface Fragment {
  /** Offset of the moof box: a byte range that starts here is decodable on its own (with the init segment). */
  readonly moofOffset: number;
  /** baseMediaDecodeTime of the fragment, in timescale ticks. */
  readonly decodeTime: number;
  readonly samples: readonly Sample[];
}

/** sample_flags bit 16 is sample_is_non_sync_sample (§8.8.3.1). */
const isSync = (flags: number): boolean => (flags & 0x10000) === 0;

interface Tfhd {
  base: number;
  duration: number;
  size: number;
  flags: number;
}

function readTfhd(buf: Buffer, box: Box, moofOffset: number, d: TrackDefaults): Tfhd {
  const flags = buf.readUInt32BE(box.body) & 0xffffff;
  let p = box.body + 8; // version/flags + track_ID
  let base = moofOffset; // default-base-is-moof (0x020000) and the CMAF default are both "the moof"
  if (flags & 0x1) {
    base = Number(buf.readBigUInt64BE(p));
    p += 8;
  }
  if (flags & 0x2) p += 4; // sample_description_index
  const out: Tfhd = { base, duration: d.duration, size: d.size, flags: d.flags };
  if (flags & 0x8) {
    out.duration = buf.readUInt32BE(p);
    p += 4;
  }
  if (flags & 0x10) {
    out.size = buf.readUInt32BE(p);
    p += 4;
  }
  if (flags & 0x20) out.flags = buf.readUInt32BE(p);
  return out;
}

function readTfdt(buf: Buffer, box: Box | undefined): number {
  if (!box) return 0;
  return buf[box.body] === 1 ? Number(buf.readBigUInt64BE(box.body + 4)) : buf.readUInt32BE(box.body + 4);
}

function readTrun(buf: Buffer, box: Box, t: Tfhd): Sample[] {
  const flags = buf.readUInt32BE(box.body) & 0xffffff;
  const count = buf.readUInt32BE(box.body + 4);
  let p = box.body + 8;
  let dataOffset = t.base;
  if (flags & 0x1) {
    dataOffset = t.base + buf.readInt32BE(p);
    p += 4;
  }
  let firstFlags: number | undefined;
  if (flags & 0x4) {
    firstFlags = buf.readUInt32BE(p);
    p += 4;
  }
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    let duration = t.duration;
    let size = t.size;
    let sflags = i === 0 && firstFlags !== undefined ? firstFlags : t.flags;
    if (flags & 0x100) {
      duration = buf.readUInt32BE(p);
      p += 4;
    }
    if (flags & 0x200) {
      size = buf.readUInt32BE(p);
      p += 4;
    }
    if (flags & 0x400) {
      sflags = buf.readUInt32BE(p);
      p += 4;
    }
    if (flags & 0x800) p += 4; // composition time offset: not needed for byte ranges
    samples.push({ offset: dataOffset, size, duration, sync: isSync(sflags) });
    dataOffset += size;
  }
  return samples;
}

/** Every movie fragment of a media segment with its samples (first track fragment; our segments hold one track). */
export function readFragments(segment: Buffer, defaults: TrackDefaults): Fragment[] {
  const out: Fragment[] = [];
  for (const moof of readBoxes(segment).filter((b) => b.type === 'moof')) {
    const traf = childBoxes(segment, moof).find((b) => b.type === 'traf');
    if (!traf) continue;
    const kids = childBoxes(segment, traf);
    const tfhdBox = kids.find((b) => b.type === 'tfhd');
    if (!tfhdBox) continue;
    const tfhd = readTfhd(segment, tfhdBox, moof.offset, defaults);
    const samples = kids.filter((b) => b.type === 'trun').flatMap((b) => readTrun(segment, b, tfhd));
    out.push({
      moofOffset: moof.offset,
      decodeTime: readTfdt(
        segment,
        kids.find((b) => b.type === 'tfdt'),
      ),
      samples,
    });
  }
  return out;
}
