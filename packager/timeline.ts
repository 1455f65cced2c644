import { childBoxes, findBox, mediaTimescale, readBoxes, type Box } from './boxes.ts';

/**
 * Audio/video sync without edit lists. ffmpeg's fMP4 muxer starts every track's decode time at zero and says where
 * presentation really begins in an edit list: the video's B-frame delay as an empty edit plus a media_time, the AAC
 * encoder's 1024 priming samples as a shorter empty edit. Players disagree about edit lists (ffmpeg and Safari apply
 * them, MSE pipelines mostly use tfdt alone), so one viewer would get audio ~45 ms early and another in sync. Here
 * the edit list is applied to the timestamps themselves, the baseMediaDecodeTime of every fragment, and then removed:
 * with nothing left to interpret, every player presents every sample at the same time.
 */

export interface TimelineBake {
  /** Media-timescale ticks to add to every fragment's baseMediaDecodeTime. */
  readonly shift: number;
  /** The init segment without its edit list. */
  readonly init: Buffer;
}

export type TimelineBakeResult = TimelineBake | { readonly unsupported: string };

function movieTimescale(init: Buffer): number | undefined {
  const mvhd = findBox(init, ['moov', 'mvhd']);
  if (!mvhd) return undefined;
  const version = init[mvhd.body] ?? 0;
  return init.readUInt32BE(mvhd.body + 4 + (version === 1 ? 16 : 8));
}

interface EditEntry {
  readonly duration: number;
  readonly mediaTime: number;
  readonly rate: number;
}

function readEditList(init: Buffer, elst: Box): EditEntry[] {
  const version = init[elst.body] ?? 0;
  const count = init.readUInt32BE(elst.body + 4);
  const size = version === 1 ? 20 : 12;
  return Array.from({ length: count }, (_, i) => {
    const p = elst.body + 8 + i * size;
    return version === 1
      ? { duration: Number(init.readBigUInt64BE(p)), mediaTime: Number(init.readBigInt64BE(p + 8)), rate: init.readInt32BE(p + 16) }
      : { duration: init.readUInt32BE(p), mediaTime: init.readInt32BE(p + 4), rate: init.readInt32BE(p + 8) };
  });
}

/** Re-serialises `box` with the children `keep` accepts; 32-bit sizes (init segments are small). */
function rebuild(buf: Buffer, box: Box, keep: (child: Box) => Buffer | undefined): Buffer {
  const children = childBoxes(buf, box)
    .map(keep)
    .filter((b): b is Buffer => b !== undefined);
  const head = Buffer.alloc(8);
  const body = Buffer.concat(children);
  head.writeUInt32BE(body.length + 8, 0);
  head.write(box.type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

const raw = (buf: Buffer, b: Box): Buffer => buf.subarray(b.offset, b.offset + b.size);

/**
 * What to add to every decode time so that the init's edit list is no longer needed: leading empty edits delay
 * presentation (movie timescale), the first real edit's media_time skips media (priming, B-frame delay). Anything
 * else (several real edits, a rate other than 1, several tracks) is reported as unsupported and left alone.
 */
export function bakeEditList(init: Buffer): TimelineBakeResult {
  const top = readBoxes(init);
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) return { unsupported: 'no moov' };
  const traks = childBoxes(init, moov).filter((b) => b.type === 'trak');
  if (traks.length !== 1) return { unsupported: `${traks.length} tracks` };
  const elst = findBox(init, ['edts', 'elst'], traks[0]!.body, traks[0]!.offset + traks[0]!.size);
  if (!elst) return { shift: 0, init };
  const movieTs = movieTimescale(init);
  const mediaTs = mediaTimescale(init);
  if (!movieTs || !mediaTs) return { unsupported: 'no timescale' };
  const entries = readEditList(init, elst);
  const leading = entries.filter((e, i) => e.mediaTime === -1 && entries.slice(0, i).every((p) => p.mediaTime === -1));
  const real = entries.slice(leading.length);
  if (real.length > 1 || real.some((e) => e.rate !== 0x10000)) return { unsupported: 'edit list with several edits or a rate' };
  const empty = leading.reduce((n, e) => n + e.duration, 0);
  const shift = Math.round((empty * mediaTs) / movieTs) - (real[0]?.mediaTime ?? 0);
  const stripped = Buffer.concat(
    top.map((b) =>
      b.type !== 'moov'
        ? raw(init, b)
        : rebuild(init, b, (c) =>
            c.type === 'trak' ? rebuild(init, c, (t) => (t.type === 'edts' ? undefined : raw(init, t))) : raw(init, c),
          ),
    ),
  );
  return { shift, init: stripped };
}

/**
 * Adds `shift` ticks to every tfdt of a media segment, in a copy. A version-0 tfdt that would overflow 32 bits, or a
 * decode time that would go negative, throws: the caller then keeps ffmpeg's output (with its edit list) as it is.
 */
export function shiftDecodeTimes(segment: Buffer, shift: number): Buffer {
  if (shift === 0) return segment;
  const out = Buffer.from(segment);
  for (const moof of readBoxes(out).filter((b) => b.type === 'moof')) {
    for (const traf of childBoxes(out, moof).filter((b) => b.type === 'traf')) {
      const tfdt = childBoxes(out, traf).find((b) => b.type === 'tfdt');
      if (!tfdt) throw new RangeError('fragment without tfdt');
      const v1 = out[tfdt.body] === 1;
      const now = v1 ? Number(out.readBigUInt64BE(tfdt.body + 4)) : out.readUInt32BE(tfdt.body + 4);
      const next = now + shift;
      if (next < 0 || (!v1 && next > 0xffffffff)) throw new RangeError(`decode time ${next} does not fit`);
      if (v1) out.writeBigUInt64BE(BigInt(next), tfdt.body + 4);
      else out.writeUInt32BE(next, tfdt.body + 4);
    }
  }
  return out;
}
