import { childBoxes, readBoxes, readFragments, type Box, type Sample, type TrackDefaults } from './boxes.ts';

/**
 * Splits each movie fragment of a media segment at its sync samples, so every key frame (every 2 s GOP) starts its
 * own moof+mdat. ffmpeg's HLS muxer writes one fragment per 6 s segment and cannot be told otherwise (frag_keyframe
 * breaks its init/segment split), but an I-frame playlist can only address key frames that begin a fragment: without
 * this, trick play would get one I-frame per segment instead of one per GOP. Sample bytes, durations, flags and
 * composition offsets are kept; only the boxes around them change. The sidx is dropped (HLS does not use it, and
 * its sizes would no longer match). Returns undefined when the segment has a layout this does not handle
 * (several trafs or truns, sample groups, encryption, explicit base offsets) or nothing to split, so the caller keeps
 * the original.
 */
export function splitAtKeyframes(segment: Buffer, defaults: TrackDefaults): Buffer | undefined {
  const top = readBoxes(segment);
  if (top.reduce((n, b) => n + b.size, 0) !== segment.length) return undefined;
  const fragments = readFragments(segment, defaults);
  // Already one key frame per fragment, at its start (e.g. a retried publish): nothing to do, keeps this idempotent.
  if (fragments.every((fr) => fr.samples.every((s, i) => i === 0 || !s.sync))) return undefined;
  const out: Buffer[] = [];
  let f = 0;
  for (const box of top) {
    if (box.type === 'sidx' || box.type === 'mdat') continue;
    if (box.type !== 'moof') {
      out.push(segment.subarray(box.offset, box.offset + box.size));
      continue;
    }
    const frag = fragments[f++];
    const split = frag ? splitFragment(segment, box, frag.decodeTime, frag.samples) : undefined;
    if (!split) return undefined;
    out.push(...split);
  }
  return Buffer.concat(out);
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

const u32 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
};

interface TrunLayout {
  flags: number;
  firstFlags: Buffer | undefined;
  entries: Buffer[];
}

/** The raw per-sample records of a trun, so they can be regrouped byte for byte. */
function readTrunLayout(buf: Buffer, trun: Box): TrunLayout | undefined {
  const flags = buf.readUInt32BE(trun.body) & 0xffffff;
  if (buf[trun.body] !== 0 && buf[trun.body] !== 1) return undefined;
  const count = buf.readUInt32BE(trun.body + 4);
  let p = trun.body + 8 + (flags & 0x1 ? 4 : 0);
  const firstFlags = flags & 0x4 ? buf.subarray(p, p + 4) : undefined;
  if (flags & 0x4) p += 4;
  const entrySize = 4 * [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length;
  const entries = Array.from({ length: count }, (_, i) => buf.subarray(p + i * entrySize, p + (i + 1) * entrySize));
  return { flags: flags | 0x1, firstFlags, entries };
}

function splitFragment(buf: Buffer, moof: Box, decodeTime: number, samples: readonly Sample[]): Buffer[] | undefined {
  const kids = childBoxes(buf, moof);
  const mfhd = kids.find((b) => b.type === 'mfhd');
  const trafs = kids.filter((b) => b.type === 'traf');
  if (!mfhd || trafs.length !== 1) return undefined;
  const trafKids = childBoxes(buf, trafs[0]!);
  const tfhd = trafKids.find((b) => b.type === 'tfhd');
  const truns = trafKids.filter((b) => b.type === 'trun');
  if (!tfhd || truns.length !== 1 || trafKids.some((b) => !['tfhd', 'tfdt', 'trun'].includes(b.type))) return undefined;
  if (buf.readUInt32BE(tfhd.body) & 0x1) return undefined; // explicit base_data_offset: offsets would need rewriting
  const layout = readTrunLayout(buf, truns[0]!);
  if (!layout || layout.entries.length !== samples.length || samples.length === 0) return undefined;
  const starts = samples.flatMap((s, i) => (i === 0 || s.sync ? [i] : []));
  const tfhdBytes = buf.subarray(tfhd.offset, tfhd.offset + tfhd.size);
  const version = buf[truns[0]!.body] ?? 0;
  const seq = buf.readUInt32BE(mfhd.body + 4);
  const out: Buffer[] = [];
  let time = decodeTime;
  for (const [k, start] of starts.entries()) {
    const end = starts[k + 1] ?? samples.length;
    const group = samples.slice(start, end);
    const data = Buffer.concat(group.map((s) => buf.subarray(s.offset, s.offset + s.size)));
    const trunHead = (dataOffset: number): Buffer =>
      Buffer.concat([
        u32(((version << 24) | layout.flags) >>> 0, group.length, dataOffset),
        ...(layout.firstFlags ? [layout.firstFlags] : []),
      ]);
    const build = (dataOffset: number): Buffer =>
      box(
        'moof',
        // Sequence numbers must keep increasing across the segment's (and the rendition's) fragments (§8.8.5).
        box('mfhd', u32(0, seq * 1000 + k)),
        box(
          'traf',
          tfhdBytes,
          box('tfdt', Buffer.from([1, 0, 0, 0]), u64(time)),
          box('trun', trunHead(dataOffset), ...layout.entries.slice(start, end)),
        ),
      );
    const size = build(0).length;
    // default-base-is-moof: the data offset counts from this moof's first byte to the first sample in the mdat.
    out.push(build(size + 8), box('mdat', data));
    time += group.reduce((n, s) => n + s.duration, 0);
  }
  return out;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}
