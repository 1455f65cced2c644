import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseMediaPlaylist, type MediaPlaylist } from '../../packager/media-playlist.ts';

const run = promisify(execFile);

/** Joins a rendition's init segment and media segments into one file ffprobe can read as a whole. */
export async function joinRendition(renditionDir: string, out: string): Promise<{ file: string; playlist: MediaPlaylist }> {
  const playlist = parseMediaPlaylist(await readFile(path.join(renditionDir, 'index.m3u8'), 'utf8'));
  const parts = [await readFile(path.join(renditionDir, playlist.mapUri!))];
  for (const s of playlist.segments) parts.push(await readFile(path.join(renditionDir, s.uri)));
  await writeFile(out, Buffer.concat(parts));
  return { file: out, playlist };
}

export interface StreamInfo {
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  field_order?: string;
  color_transfer?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  side_data_list?: unknown[];
}

export async function firstStream(file: string, select = 'v:0'): Promise<StreamInfo> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', select, '-show_streams', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: StreamInfo[] }).streams[0] ?? {};
}

/** Frames ffprobe decodes from the first video stream. */
export async function countFrames(file: string): Promise<number> {
  const args = ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0'];
  const { stdout } = await run('ffprobe', [...args, file]);
  return Number(stdout.trim());
}

/** Sizes of the video packets, in order (identical lists mean a bit-exact stream copy). */
export async function packetSizes(file: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=size',
    '-of',
    'csv=p=0',
    file,
  ]);
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** Frame durations (decoded, in s) of the first video stream. */
export async function frameDurations(file: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'frame=pkt_duration_time',
    '-of',
    'csv=p=0',
    file,
  ]);
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** Overwrites the middle sixth of a file with garbage: the header stays readable, decoding breaks half-way. */
export async function garbleMiddle(file: string): Promise<void> {
  const buf = await readFile(file);
  const start = Math.floor(buf.length / 2);
  for (let i = start; i < start + Math.floor(buf.length / 6); i++) buf[i] = (i * 7919) & 0xff;
  await writeFile(file, buf);
}
