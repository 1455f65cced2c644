import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ffmpegQuiet, makeClip } from './media.ts';
import { writeTags } from './exiftool.ts';

/** GPS, creation time and device tags as a phone writes them (QuickTime udta ©xyz, Keys, mvhd/tkhd dates). */
export const PHONE_TAG_ARGS = [
  '-metadata',
  'location=+48.2082+016.3738/',
  '-metadata',
  'creation_time=2024-05-01T10:00:00Z',
  '-metadata',
  'make=Apple',
  '-metadata',
  'model=iPhone 15',
];

/**
 * A landscape-coded clip shown portrait (display matrix 90°), with GPS, creation time and device tags in every
 * place a phone puts them. ffmpeg 5.1 cannot set a display matrix on output, so exiftool writes Rotation.
 */
export async function makePhoneClip(dir: string): Promise<string> {
  const out = await makeClip({
    out: path.join(dir, 'phone.mov'),
    durationSec: 2,
    width: 320,
    height: 180,
    extraArgs: [...PHONE_TAG_ARGS, '-f', 'mov'],
  });
  await writeTags(out, [
    '-Rotation=90',
    '-Keys:GPSCoordinates=48.2082, 16.3738, 180',
    '-Keys:Make=Apple',
    '-Keys:CreationDate=2024:05:01 10:00:00+02:00',
  ]);
  return out;
}

/** A faststart MP4 (index first) cut in half: ffprobe still reads the header, the media data ends early. */
export async function makeTruncatedFaststart(dir: string): Promise<string> {
  const full = await makeClip({
    out: path.join(dir, 'full-fs.mp4'),
    durationSec: 3,
    width: 160,
    height: 90,
    extraArgs: ['-movflags', '+faststart'],
  });
  const buf = await readFile(full);
  const out = path.join(dir, 'truncated-faststart.mp4');
  await writeFile(out, buf.subarray(0, Math.floor(buf.length / 2)));
  return out;
}

/** A default MP4 (index at the end) cut in half: no moov atom, nothing readable. */
export async function makeTruncatedPlain(dir: string): Promise<string> {
  const full = await makeClip({ out: path.join(dir, 'full.mp4'), durationSec: 3, width: 160, height: 90 });
  const buf = await readFile(full);
  const out = path.join(dir, 'truncated.mp4');
  await writeFile(out, buf.subarray(0, Math.floor(buf.length / 2)));
  return out;
}

export async function makePng(dir: string): Promise<string> {
  const out = path.join(dir, 'still.mp4');
  await ffmpegQuiet(['-f', 'lavfi', '-i', 'testsrc2=size=64x64', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', out]);
  return out;
}

/** An audio-only M4A: a real media file with no video stream (→ INGEST_NOT_VIDEO). */
export async function makeAudioOnly(dir: string): Promise<string> {
  const out = path.join(dir, 'audio.mp4');
  await ffmpegQuiet(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', out]);
  return out;
}

export async function sizeOf(p: string): Promise<number> {
  return (await stat(p)).size;
}
