import { randomBytes } from 'node:crypto';
import { open, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegQuiet } from '../../test/helpers/media.ts';
import { SNIFF_BYTES, sniffContainer } from '../container-sniff.ts';

/** First SNIFF_BYTES of a file, as the upload path hands them over. */
async function headOf(file: string): Promise<Buffer> {
  const h = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await h.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

/** One real file per container the pipeline accepts, written by ffmpeg: [file name, output args, expected demuxer]. */
const CONTAINERS: ReadonlyArray<readonly [string, readonly string[], string]> = [
  ['clip.mp4', ['-c:v', 'libx264', '-preset', 'ultrafast'], 'mov'],
  ['clip-faststart.mp4', ['-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', '+faststart'], 'mov'],
  ['clip-fragmented.mp4', ['-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', 'frag_keyframe+empty_moov'], 'mov'],
  ['clip.mov', ['-c:v', 'mpeg4'], 'mov'],
  ['clip.3gp', ['-c:v', 'mpeg4', '-s', '176x144'], 'mov'],
  ['clip.mkv', ['-c:v', 'mpeg4'], 'matroska'],
  ['clip.webm', ['-c:v', 'libvpx', '-deadline', 'realtime'], 'matroska'],
  ['clip.avi', ['-c:v', 'mpeg4'], 'avi'],
  ['clip.ts', ['-c:v', 'mpeg2video'], 'mpegts'],
  ['clip.m2ts', ['-c:v', 'mpeg2video', '-f', 'mpegts', '-mpegts_m2ts_mode', '1'], 'mpegts'],
  ['clip.flv', ['-c:v', 'flv1'], 'flv'],
  ['clip.mpg', ['-c:v', 'mpeg2video', '-f', 'vob'], 'mpeg'],
  ['clip-mpeg1.mpg', ['-c:v', 'mpeg1video', '-f', 'mpeg'], 'mpeg'],
  ['clip.wmv', ['-c:v', 'wmv2'], 'asf'],
  ['clip.ogv', ['-c:v', 'libtheora'], 'ogg'],
  ['clip.dv', ['-c:v', 'dvvideo', '-s', '720x576', '-pix_fmt', 'yuv420p', '-r', '25', '-f', 'dv'], 'dv'],
];

describe('sniffContainer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sniff-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CONTAINERS)('recognises %s from its first bytes', { timeout: 60_000 }, async (name, args, demuxer) => {
    const file = path.join(dir, name);
    await ffmpegQuiet(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1', ...args, file]);
    expect(sniffContainer(await headOf(file))).toBe(demuxer);
  });

  it('recognises a TS capture that starts mid-packet, and a DV stream that starts a little way in', () => {
    const ts = randomBytes(SNIFF_BYTES);
    for (let i = 0; i < 8; i++) ts[100 + i * 188] = 0x47;
    expect(sniffContainer(ts)).toBe('mpegts');
    const dv = Buffer.concat([Buffer.alloc(80), Buffer.from([0x1f, 0x07, 0x00, 0xbf]), Buffer.alloc(400)]);
    expect(sniffContainer(dv)).toBe('dv');
  });

  it('finds nothing in random bytes', () => {
    // 2,000 × 4 KiB: a false match on random data would show up here long before it costs a real upload anything.
    for (let i = 0; i < 2000; i++) expect(sniffContainer(randomBytes(SNIFF_BYTES))).toBeUndefined();
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['zeros', Buffer.alloc(SNIFF_BYTES)],
    ['a PDF', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n', 'latin1')],
    ['a ZIP', Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00', 'latin1'), randomBytes(200)])],
    ['a PNG', Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(200)])],
    ['a JPEG', Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), randomBytes(200)])],
    ['a WAV', Buffer.concat([Buffer.from('RIFF\x24\x08\x00\x00WAVEfmt ', 'latin1'), randomBytes(200)])],
    ['an HLS playlist', Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://example.com/a.ts\n')],
    ['an ffconcat list', Buffer.from("ffconcat version 1.0\nfile '/etc/passwd'\n")],
    ['an ELF binary', Buffer.concat([Buffer.from('7f454c46020101', 'hex'), Buffer.alloc(300)])],
    ['a truncated signature', Buffer.from([0x1a, 0x45, 0xdf])],
  ])('finds nothing in %s', (_name, bytes) => {
    expect(sniffContainer(bytes)).toBeUndefined();
  });
});
