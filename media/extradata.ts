import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import type { MediaInput } from './allow-list.ts';
import { runFfprobe, type FfprobeOptions } from './ffprobe.ts';
import { neutraliseHvccUserData } from './hvcc.ts';

const ExtradataSchema = z.object({ streams: z.array(z.object({ extradata: z.string().optional() })).default([]) });

/** ffprobe prints extradata as a hexdump ("00000000: 0104 0800 …  ascii"); this reads the hex columns back. */
export function parseHexdump(dump: string): Buffer {
  const bytes: string[] = [];
  for (const line of dump.split('\n')) {
    const m = /^[0-9a-f]{8}: ((?:[0-9a-f]{2,4} ?)+)/.exec(line);
    if (m?.[1]) bytes.push(m[1].replace(/ /g, ''));
  }
  return Buffer.from(bytes.join(''), 'hex');
}

/** The first video stream's codec extradata (avcC/hvcC/…), empty when it has none. */
export async function videoExtradata(input: MediaInput, o: FfprobeOptions): Promise<Buffer> {
  const out = await runFfprobe(input, ['-select_streams', 'v:0', '-show_entries', 'stream=extradata', '-show_data', '-of', 'json'], o);
  const dump = ExtradataSchema.parse(JSON.parse(out)).streams[0]?.extradata ?? '';
  return parseHexdump(dump);
}

/** Offset of the first occurrence of `needle` in the file, read in chunks with an overlap; -1 when absent. */
export async function findInFile(file: string, needle: Buffer): Promise<number> {
  let base = 0;
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = Buffer.concat([carry, chunk as Buffer]);
    const at = buf.indexOf(needle);
    if (at >= 0) return base + at;
    const keep = Math.min(buf.length, needle.length - 1);
    base += buf.length - keep;
    carry = buf.subarray(buf.length - keep);
  }
  return -1;
}

export type ConfigScrub = 'clean' | 'rewritten' | 'unfixable';

/**
 * Neutralises user-data SEI units inside an HEVC file's decoder configuration record (hvcC in MP4, CodecPrivate in
 * Matroska) in place; the record keeps its length, so nothing else in the container moves. Other codecs: 'clean'
 * (avcC holds parameter sets only). 'unfixable' means the caller must not keep this stream as a copy.
 */
export async function scrubConfigRecord(input: MediaInput, codec: string, o: FfprobeOptions): Promise<ConfigScrub> {
  if (codec !== 'hevc') return 'clean';
  const record = await videoExtradata(input, o);
  if (record.length === 0) return 'clean';
  const rewrite = neutraliseHvccUserData(record);
  if (rewrite.kind === 'clean') return 'clean';
  if (rewrite.kind === 'unfixable') return 'unfixable';
  const at = await findInFile(input.path, record);
  if (at < 0) return 'unfixable';
  const fh = await open(input.path, 'r+');
  try {
    await fh.write(rewrite.record, 0, rewrite.record.length, at);
  } finally {
    await fh.close();
  }
  const after = await videoExtradata(input, o);
  if (!after.equals(rewrite.record)) {
    throw new PipelineError('INGEST_STRIP_FAILED', 'The rewritten HEVC configuration record did not read back.', { offset: at });
  }
  return 'rewritten';
}
