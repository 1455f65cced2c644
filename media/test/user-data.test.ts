import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripVideoMetadata } from '../../ingest/strip.ts';
import { validateUpload } from '../../ingest/validate.ts';
import { GPS_TEXT, makeH264WithGps, makeHevcWithGps, makeMpeg4Part2, occurrences } from '../../test/helpers/hostile.ts';
import { videoExtradata } from '../extradata.ts';
import { fillerSei, neutraliseHvccUserData, seiHasUserData } from '../hvcc.ts';
import { countFrames } from '../../test/helpers/media-check.ts';

const run = promisify(execFile);
const bins = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

async function strip(file: string, outBase: string) {
  const v = await validateUpload(file, { ...bins, maxDurationSec: 600 });
  const master = await stripVideoMetadata({
    ...bins,
    input: v.input,
    videoCodec: v.videoCodec,
    outBase,
    declaredDurationSec: v.durationSec,
  });
  return { v, master };
}

/** Decodes every frame with errors fatal, then counts the video frames. */
async function decodedFrames(file: string): Promise<number> {
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
  return countFrames(file);
}

describe('filler SEI units', () => {
  it('has exactly the requested length for every length from 21 to 3000 bytes and carries nothing but filler', () => {
    const header = Buffer.from([0x4e, 0x01]);
    for (let len = 21; len <= 3000; len++) {
      const nal = fillerSei(header, len);
      expect(nal?.length, `length ${len}`).toBe(len);
      expect(nal!.includes(Buffer.from([0, 0]))).toBe(false);
      expect(nal![nal!.length - 1]).toBe(0x80);
    }
    expect(fillerSei(header, 20)).toBeUndefined();
  });

  it('tells user-data SEI from other SEI (mastering display colour volume stays)', () => {
    const user = Buffer.from([0x4e, 0x01, 5, 17, ...new Array<number>(17).fill(0x41), 0x80]);
    const mdcv = Buffer.from([0x4e, 0x01, 137, 24, ...new Array<number>(24).fill(0x11), 0x80]);
    expect(seiHasUserData(user)).toBe(true);
    expect(seiHasUserData(mdcv)).toBe(false);
  });
});

describe('strip removes location text from the video bitstream', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-sei-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('H.264: SEI user data with GPS text is gone from the master, every frame still decodes', async () => {
    const src = await makeH264WithGps(path.join(tmp, 'dashcam.mp4'));
    expect(occurrences(await readFile(src), GPS_TEXT)).toBeGreaterThan(0);
    const { master } = await strip(src, path.join(tmp, 'h264', 'master'));
    expect(master.reencoded).toBe(false);
    expect(occurrences(await readFile(master.path), GPS_TEXT)).toBe(0);
    expect(await decodedFrames(master.path)).toBe(await decodedFrames(src));
  });

  it('HEVC: in-band GPS SEI is gone, as a stream copy that decodes', async (ctx) => {
    const src = await makeHevcWithGps(tmp);
    if (!src) return ctx.skip();
    expect(occurrences(await readFile(src), GPS_TEXT)).toBeGreaterThan(0);
    const { master } = await strip(src, path.join(tmp, 'hevc', 'master'));
    expect(master.reencoded).toBe(false);
    expect(occurrences(await readFile(master.path), GPS_TEXT)).toBe(0);
    expect(await decodedFrames(master.path)).toBe(await decodedFrames(src));
  });

  it.for(['mp4', 'mkv'])('HEVC: user-data SEI inside the decoder configuration record (%s) is refilled in place', async (ext, ctx) => {
    const src = path.join(tmp, `x265.${ext}`);
    const made = await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=25:duration=2',
      '-c:v',
      'libx265',
      '-x265-params',
      'log-level=error',
      src,
    ]).then(
      () => true,
      () => false,
    );
    if (!made) return ctx.skip();
    // x265 writes its build and settings as user_data_unregistered into the record (hvcC / CodecPrivate).
    const record = await videoExtradata({ path: src, demuxer: ext === 'mp4' ? 'mov' : 'matroska' }, bins);
    expect(occurrences(record, 'x265 (build')).toBe(1);
    const { master } = await strip(src, path.join(tmp, `hevc-${ext}`, 'master'));
    expect(master.reencoded).toBe(false);
    expect(occurrences(await readFile(master.path), 'x265 (build')).toBe(0);
    const after = await videoExtradata({ path: master.path, demuxer: master.path.endsWith('.mp4') ? 'mov' : 'matroska' }, bins);
    expect(after.length).toBe(record.length);
    // Still an SEI unit with user data, but only filler now.
    expect(neutraliseHvccUserData(after).kind).toBe('rewritten');
    expect(await decodedFrames(master.path)).toBe(await decodedFrames(src));
  });

  it('a codec whose user data cannot be filtered (MPEG-4 Part 2) is re-encoded for the master', async () => {
    const src = await makeMpeg4Part2(path.join(tmp, 'camcorder.avi'));
    // The encoder's version string sits in the VOL user data, as a camera's would.
    const marker = /Lavc\d+\.\d+\.\d+/.exec((await readFile(src)).toString('latin1'))?.[0];
    expect(marker).toBeDefined();
    const { master } = await strip(src, path.join(tmp, 'mpeg4', 'master'));
    expect(master.reencoded).toBe(true);
    expect(occurrences(await readFile(master.path), marker!)).toBe(0);
    expect(await decodedFrames(master.path)).toBe(await decodedFrames(src));
  });
});
