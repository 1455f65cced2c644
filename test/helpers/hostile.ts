import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { ffmpegQuiet, makeClip } from './media.ts';

/** Location text a dashcam or drone writes into its video stream; tests look for it in every output byte. */
export const GPS_TEXT = 'GPS+48.20820N+016.37380E-KIDSTREAM-LOCATION';
/** A UUID for user_data_unregistered SEI with no zero bytes (so no emulation prevention is needed). */
const SEI_UUID = '086f3693-b7b3-4f2c-9653-21492feee5b8';

/**
 * Hostile uploads that are not media but instructions to open other things. Each is what a hostile uploader would
 * send instead of a video: ffmpeg recognises them by content, whatever the file is called.
 */
export const hostile = {
  /** HLS playlist whose one segment is another file on the server (e.g. someone else's master). */
  hlsFile: (target: string): string =>
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile://${target}\n#EXT-X-ENDLIST\n`,
  /** HLS playlist that makes the server fetch a URL (SSRF). */
  hlsUrl: (url: string): string => `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n${url}\n#EXT-X-ENDLIST\n`,
  /** HLS master playlist pointing at a nested media playlist. */
  hlsNested: (url: string): string => `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n${url}\n`,
  /** HLS playlist with a data: URI segment and a key fetched from a URL. */
  hlsData: (keyUrl: string): string =>
    `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-KEY:METHOD=AES-128,URI="${keyUrl}"\n#EXTINF:10.0,\ndata:video/mp2t;base64,R0VU\n#EXT-X-ENDLIST\n`,
  /** ffconcat script: joins other files (an unfinished upload skips the scan and the size limit). */
  ffconcat: (target: string): string => `ffconcat version 1.0\nfile '${target}'\nfile '${target}'\n`,
  /** DASH manifest whose segments are local files or URLs. */
  dash: (base: string): string =>
    `<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">` +
    `<BaseURL>${base}</BaseURL><Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="100000" codecs="avc1.42c00d" width="160" height="90">` +
    `<BaseURL>master.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>\n`,
  /** SDP session: ffmpeg would listen for RTP or connect out. */
  sdp: (port: number): string =>
    `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=hostile\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video ${port} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n`,
  /** IMF composition playlist: references track files by path. */
  imf: (): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<CompositionPlaylist xmlns="http://www.smpte-ra.org/schemas/2067-3/2016"><Id>urn:uuid:${SEI_UUID}</Id>` +
    `<EditRate>25 1</EditRate><SegmentList/></CompositionPlaylist>\n`,
} as const;

/**
 * 800 × 'G' (0x47, the MPEG-TS sync byte): inside the first 4 KiB it puts a sync byte at every TS packet stride, so the
 * upload's first-bytes check (media/container-sniff.ts) takes the file for a TS capture and lets it through, as a
 * hostile uploader who read that code would arrange. Tests use it to reach the pipeline's own allow-list end to end.
 */
const SYNC_RUN = 'G'.repeat(800);

/** `text` (one of `hostile`'s) with a line of SYNC_RUN after its first line, in the format's own comment syntax. */
export function pastTheSniff(text: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const cut = text.indexOf(eol) + eol.length;
  const comment = text.startsWith('<?xml') ? `<!--${SYNC_RUN}-->` : text.startsWith('v=0') ? `i=${SYNC_RUN}` : `#${SYNC_RUN}`;
  return text.slice(0, cut) + comment + eol + text.slice(cut);
}

/** A PNG with a tEXt chunk of SYNC_RUN after its header chunk: still a valid image, and past the first-bytes check. */
export async function pngPastTheSniff(png: string): Promise<string> {
  const bytes = await readFile(png);
  const data = Buffer.from(`Comment\0${SYNC_RUN}`, 'latin1');
  const typeAndData = Buffer.concat([Buffer.from('tEXt'), data]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  typeAndData.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typeAndData), 8 + data.length);
  // Signature (8 bytes), then IHDR (4 length + 4 type + 13 data + 4 CRC): the tEXt chunk goes right after.
  const out = png.replace(/(\.\w+)?$/, '-sniffed$1');
  await writeFile(out, Buffer.concat([bytes.subarray(0, 33), chunk, bytes.subarray(33)]));
  return out;
}

/** Writes `text` to `dir/name` and returns the path. */
export async function writeHostile(dir: string, name: string, text: string): Promise<string> {
  const out = path.join(dir, name);
  await writeFile(out, text);
  return out;
}

/** An MKV with a subtitle track and an `.m3u8` attachment that both point at another file. */
export async function makeMkvWithReferences(dir: string, target: string): Promise<string> {
  const clip = await makeClip({ out: path.join(dir, 'att-src.mp4'), durationSec: 2, width: 160, height: 90 });
  const m3u8 = await writeHostile(dir, 'evil.m3u8', hostile.hlsFile(target));
  const srt = await writeHostile(dir, 'subs.srt', `1\n00:00:00,000 --> 00:00:01,500\nfile://${target}\n`);
  const out = path.join(dir, 'attachments.mkv');
  await ffmpegQuiet([
    '-i',
    clip,
    '-i',
    srt,
    '-map',
    '0',
    '-map',
    '1',
    '-c',
    'copy',
    '-c:s',
    'srt',
    '-attach',
    m3u8,
    '-metadata:s:t',
    'mimetype=application/vnd.apple.mpegurl',
    out,
  ]);
  return out;
}

/** H.264 with GPS text as SEI user_data_unregistered (the h264_metadata filter writes it into the stream). */
export async function makeH264WithGps(
  out: string,
  o: { width?: number; height?: number; durationSec?: number; extraArgs?: readonly string[] } = {},
): Promise<string> {
  return makeClip({
    out,
    durationSec: o.durationSec ?? 4,
    width: o.width ?? 320,
    height: o.height ?? 180,
    extraArgs: [...(o.extraArgs ?? []), '-bsf:v', `h264_metadata=sei_user_data=${SEI_UUID}+${GPS_TEXT}`],
  });
}

/** An HEVC prefix SEI NAL unit (type 39) with one user_data_unregistered message carrying `text`. */
function hevcUserDataSei(text: string): Buffer {
  const uuid = Buffer.from(SEI_UUID.replaceAll('-', ''), 'hex');
  const payload = Buffer.concat([uuid, Buffer.from(text, 'ascii')]);
  if (payload.length >= 255) throw new Error('test SEI payload too long');
  return Buffer.concat([Buffer.from([0, 0, 0, 1, 0x4e, 0x01, 5, payload.length]), payload, Buffer.from([0x80])]);
}

/**
 * HEVC (x265, whose settings SEI sits in the hvcC record) with GPS text as an in-band prefix SEI before every IDR
 * picture, muxed into MP4. Returns null when this ffmpeg has no libx265.
 */
export async function makeHevcWithGps(dir: string): Promise<string | null> {
  const raw = path.join(dir, 'gps.hevc');
  try {
    await ffmpegQuiet([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=25:duration=3',
      '-c:v',
      'libx265',
      '-x265-params',
      'log-level=error:keyint=25',
      '-f',
      'hevc',
      raw,
    ]);
  } catch {
    return null;
  }
  const es = await readFile(raw);
  const sei = hevcUserDataSei(GPS_TEXT);
  const parts: Buffer[] = [];
  let last = 0;
  for (let i = 0; i + 4 < es.length; i++) {
    if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1) {
      const type = (es[i + 3]! >> 1) & 0x3f;
      const start = i > 0 && es[i - 1] === 0 ? i - 1 : i;
      // Before each IDR slice (types 19/20) that starts a picture (first_slice_segment_in_pic_flag).
      if ((type === 19 || type === 20) && (es[i + 5]! & 0x80) !== 0) {
        parts.push(es.subarray(last, start), sei);
        last = start;
      }
    }
  }
  parts.push(es.subarray(last));
  await writeFile(raw, Buffer.concat(parts));
  const out = path.join(dir, 'gps-hevc.mp4');
  await ffmpegQuiet([
    '-r',
    '25',
    '-f',
    'hevc',
    '-i',
    raw,
    '-f',
    'lavfi',
    '-i',
    'sine=duration=3:sample_rate=48000',
    '-c:v',
    'copy',
    '-c:a',
    'aac',
    '-shortest',
    '-tag:v',
    'hvc1',
    out,
  ]);
  return out;
}

/** MPEG-4 Part 2 video, whose VOL header carries encoder user data that no bitstream filter removes. */
export async function makeMpeg4Part2(out: string): Promise<string> {
  await ffmpegQuiet(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=3', '-c:v', 'mpeg4', '-q:v', '4', '-f', 'avi', out]);
  return out;
}

/** Every offset at which `needle` occurs in `buf`. */
export function occurrences(buf: Buffer, needle: string): number {
  let n = 0;
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) n++;
  return n;
}
