import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import { PipelineError } from './errors.ts';

/** One file of a zip: its name inside the archive and a stream of its bytes, opened only when its turn comes. */
export interface ZipEntry {
  readonly name: string;
  readonly open: () => Promise<Readable | AsyncIterable<Buffer | string>>;
}

/** ZIP (APPNOTE 6.3.x) without zip64: every entry and the whole archive must stay below 4 GiB. */
const LIMIT = 0xffffffff;
/** Bit 3: sizes and CRC follow the data (a data descriptor), so nothing is buffered; bit 11: names are UTF-8. */
const FLAGS = 0x0808;

interface Written {
  readonly name: Buffer;
  readonly when: { readonly time: number; readonly date: number };
  readonly crc: number;
  readonly size: number;
  readonly offset: number;
}

/** MS-DOS time and date of `d` (local fields as UTC: the archive has no zone), as zip headers carry them. */
function dosDateTime(d: Date): { time: number; date: number } {
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return { time, date };
}

function localHeader(name: Buffer, when: { time: number; date: number }): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed: 2.0
  h.writeUInt16LE(FLAGS, 6);
  h.writeUInt16LE(0, 8); // stored: videos do not deflate, and storing keeps the CPU cost at a copy
  h.writeUInt16LE(when.time, 10);
  h.writeUInt16LE(when.date, 12);
  h.writeUInt16LE(name.length, 26);
  return Buffer.concat([h, name]);
}

function descriptor(w: Written): Buffer {
  const d = Buffer.alloc(16);
  d.writeUInt32LE(0x08074b50, 0);
  d.writeUInt32LE(w.crc, 4);
  d.writeUInt32LE(w.size, 8);
  d.writeUInt32LE(w.size, 12);
  return d;
}

function centralEntry(w: Written): Buffer {
  const c = Buffer.alloc(46);
  c.writeUInt32LE(0x02014b50, 0);
  c.writeUInt16LE(20, 4);
  c.writeUInt16LE(20, 6);
  c.writeUInt16LE(FLAGS, 8);
  c.writeUInt16LE(w.when.time, 12);
  c.writeUInt16LE(w.when.date, 14);
  c.writeUInt32LE(w.crc, 16);
  c.writeUInt32LE(w.size, 20);
  c.writeUInt32LE(w.size, 24);
  c.writeUInt16LE(w.name.length, 28);
  c.writeUInt32LE(w.offset, 42);
  return Buffer.concat([c, w.name]);
}

function endOfCentral(count: number, size: number, offset: number): Buffer {
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(count, 8);
  e.writeUInt16LE(count, 10);
  e.writeUInt32LE(size, 12);
  e.writeUInt32LE(offset, 16);
  return e;
}

const tooLarge = (name: string): PipelineError =>
  new PipelineError('API_EXPORT_TOO_LARGE', `${name} does not fit a zip without zip64.`, { name });

/**
 * Writes a zip archive as it reads the entries, one after the other: memory use is one chunk, whatever the sizes. The
 * CRC is computed in the same pass (zlib.crc32) and written after each entry's data. Throws API_EXPORT_TOO_LARGE (the
 * stream errors) when the archive would pass 4 GiB.
 */
export async function* zipStream(entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>, now: Date = new Date()): AsyncGenerator<Buffer> {
  const written: Written[] = [];
  const when = dosDateTime(now);
  let offset = 0;
  for await (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const head = localHeader(name, when);
    yield head;
    let crc = 0;
    let size = 0;
    for await (const chunk of await e.open()) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      crc = crc32(b, crc);
      size += b.length;
      if (offset + head.length + size > LIMIT) throw tooLarge(e.name);
      yield b;
    }
    const w = { name, when, crc, size, offset };
    const d = descriptor(w);
    yield d;
    written.push(w);
    offset += head.length + size + d.length;
  }
  const central = Buffer.concat(written.map(centralEntry));
  if (offset + central.length > LIMIT || written.length > 0xffff) throw tooLarge('the archive');
  yield central;
  yield endOfCentral(written.length, central.length, offset);
}
