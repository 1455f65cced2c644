import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { hostile, makeMkvWithReferences, writeHostile } from '../../test/helpers/hostile.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { makePng } from '../../test/helpers/media-fixtures.ts';
import { inputArgs, mediaInput } from '../allow-list.ts';
import { probeFile } from '../ffprobe.ts';

const run = promisify(execFile);
const o = { ffprobePath: 'ffprobe' };

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isPipelineError(err) ? err.code : `no pipeline error: ${String(err)}`;
}

describe('media layer: only allow-listed demuxers, only the file protocol', () => {
  let tmp: string;
  let secret: string;
  let server: Server;
  let hits: string[];
  let origin: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-media-'));
    // Stands for another family's unmoderated master on the same disk.
    secret = await makeClip({ out: path.join(tmp, 'someone-elses-master.mp4'), durationSec: 2, width: 160, height: 90 });
    hits = [];
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(tmp, { recursive: true, force: true });
  });

  it.each([
    ['HLS playlist naming a local file', () => hostile.hlsFile(secret), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['HLS playlist naming a URL', () => hostile.hlsUrl(`${origin}/seg.ts`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['nested HLS playlists', () => hostile.hlsNested(`${origin}/inner.m3u8`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['HLS with data: segment and a remote key', () => hostile.hlsData(`${origin}/key`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['ffconcat script', () => hostile.ffconcat(secret), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['DASH manifest', () => hostile.dash(`${origin}/`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['SDP session', () => hostile.sdp(9), 'INGEST_UNSUPPORTED_CONTAINER'],
    // This ffmpeg's imf demuxer does not claim files by content; either way it is never among the allowed ones.
    ['IMF composition playlist', () => hostile.imf(), 'INGEST_UNSUPPORTED_CONTAINER|INGEST_UNREADABLE'],
  ])('refuses %s before it opens anything', async (_name, text, codes) => {
    const file = await writeHostile(tmp, `upload-${Math.random().toString(36).slice(2)}.mp4`, text());
    expect(codes.split('|')).toContain(await codeOf(probeFile(file, o)));
    expect(hits).toEqual([]);
  });

  it('calls a still image not a video, and text no container at all unreadable', async () => {
    const png = await makePng(tmp);
    expect(await codeOf(probeFile(png, o))).toBe('INGEST_NOT_VIDEO');
    const text = await writeHostile(tmp, 'notes.mp4', 'just some text, no media here\n');
    expect(await codeOf(probeFile(text, o))).toBe('INGEST_UNREADABLE');
  });

  it('accepts real containers and names the demuxer every later run is forced to', async () => {
    const cases: Array<[string, string[], string]> = [
      ['c.mp4', [], 'mov'],
      ['c.mkv', [], 'matroska'],
      ['c.webm', ['-c:v', 'libvpx', '-c:a', 'libopus', '-b:v', '200k'], 'matroska'],
      ['c.ts', ['-f', 'mpegts'], 'mpegts'],
      ['c.flv', ['-f', 'flv'], 'flv'],
      ['c.avi', ['-f', 'avi'], 'avi'],
    ];
    for (const [name, extra, demuxer] of cases) {
      const clip = await makeClip({ out: path.join(tmp, name), durationSec: 1, width: 160, height: 90, extraArgs: extra });
      const { input, probe } = await probeFile(clip, o);
      expect(input).toEqual({ path: clip, demuxer });
      expect(probe.streams.some((s) => s.codec_type === 'video')).toBe(true);
    }
  });

  it('an MKV whose attachment and subtitles name other files probes as plain matroska (nothing is followed)', async () => {
    const mkv = await makeMkvWithReferences(tmp, secret);
    const { input, probe } = await probeFile(mkv, o);
    expect(input.demuxer).toBe('matroska');
    expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['attachment', 'audio', 'subtitle', 'video']);
    expect(hits).toEqual([]);
  });

  it('forces the demuxer and both allow-lists onto every run; a probe from elsewhere cannot widen them', async () => {
    expect(inputArgs({ demuxer: 'mov' })).toEqual(
      expect.arrayContaining(['-protocol_whitelist', 'file', '-f', 'mov', '-enable_drefs', '0']),
    );
    expect(await codeOf(Promise.resolve().then(() => mediaInput('/x', 'hls')))).toBe('INGEST_UNSUPPORTED_CONTAINER');
    expect(await codeOf(Promise.resolve().then(() => mediaInput('/x', 'concat')))).toBe('INGEST_UNSUPPORTED_CONTAINER');
    // A playlist forced through the mov demuxer is just unreadable bytes.
    const m3u8 = await writeHostile(tmp, 'forced.m3u8', hostile.hlsFile(secret));
    const err = await run('ffmpeg', ['-hide_banner', '-v', 'error', ...inputArgs({ demuxer: 'mov' }), '-i', m3u8, '-f', 'null', '-']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect((await readFile(m3u8, 'utf8')).startsWith('#EXTM3U')).toBe(true);
  });
});
