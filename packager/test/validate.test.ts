import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcodeAndPackage } from '../../pipeline/package-stage.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { validatePackage, type ViolationCode } from '../validate.ts';
import { mediaInput } from '../../media/allow-list.ts';

const run = promisify(execFile);
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('validator: passes our package, names each deliberately broken rule by code', () => {
  let tmp: string;
  let good: string;
  let n = 0;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-val-'));
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 9 });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const storage = new LocalDiskStorage({ root: path.join(tmp, 'published') });
    await transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      workDir: await mkdtemp(path.join(tmp, 'work-')),
      storage,
      prefix: 'good',
      logger: pino({ level: 'silent' }),
      threads: 2,
      skipArtwork: true,
    });
    good = path.join(tmp, 'published', 'good');
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** A copy of the good package with `edit` applied to one file (text edit) or the directory. */
  async function broken(edit: (dir: string) => Promise<void>): Promise<ViolationCode[]> {
    const dir = path.join(tmp, `broken-${n++}`);
    await cp(good, dir, { recursive: true });
    await edit(dir);
    return (await validatePackage(dir)).map((v) => v.code);
  }
  const sed =
    (rel: string, from: string | RegExp, to: string) =>
    async (dir: string): Promise<void> => {
      const file = path.join(dir, rel);
      const text = await readFile(file, 'utf8');
      const next = text.replace(from, to);
      if (next === text) throw new Error(`fixture edit did not apply to ${rel}`);
      await writeFile(file, next);
    };

  it('finds nothing wrong with the packager output', async () => {
    expect(await validatePackage(good)).toEqual([]);
  });

  it.each<[string, (dir: string) => Promise<void>, ViolationCode[]]>([
    ['master missing', (d) => unlink(path.join(d, 'master.m3u8')), ['PKG_MASTER_UNREADABLE']],
    ['EVENT media playlist', sed('v0/index.m3u8', 'PLAYLIST-TYPE:VOD', 'PLAYLIST-TYPE:EVENT'), ['PKG_NOT_VOD']],
    ['no EXT-X-INDEPENDENT-SEGMENTS in a rung', sed('v1/index.m3u8', '#EXT-X-INDEPENDENT-SEGMENTS\n', ''), ['PKG_MEDIA_TAG_MISSING']],
    ['no EXT-X-INDEPENDENT-SEGMENTS in the master', sed('master.m3u8', '#EXT-X-INDEPENDENT-SEGMENTS\n', ''), ['PKG_MASTER_TAG_MISSING']],
    [
      'BANDWIDTH halved',
      async (d) => {
        const f = path.join(d, 'master.m3u8');
        const t = await readFile(f, 'utf8');
        await writeFile(
          f,
          t.replace(/^#EXT-X-STREAM-INF:BANDWIDTH=(\d+)/m, (_m, b: string) => `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(Number(b) / 2)}`),
        );
      },
      ['PKG_BANDWIDTH_MISMATCH'],
    ],
    [
      'AVERAGE-BANDWIDTH 20% high',
      async (d) => {
        const f = path.join(d, 'master.m3u8');
        const t = await readFile(f, 'utf8');
        await writeFile(
          f,
          t.replace(
            /AVERAGE-BANDWIDTH=(\d+),CODECS="avc1\.64001e/,
            (_m, b: string) => `AVERAGE-BANDWIDTH=${Math.round(Number(b) * 1.2)},CODECS="avc1.64001e`,
          ),
        );
      },
      ['PKG_AVERAGE_BANDWIDTH_MISMATCH'],
    ],
    ['wrong CODECS profile', sed('master.m3u8', 'CODECS="avc1.64001e,', 'CODECS="avc1.42e01e,'), ['PKG_CODECS_MISMATCH']],
    [
      'variant without AUDIO group',
      sed('master.m3u8', /,AUDIO="aud"\nv0/, '\nv0'),
      ['PKG_AUDIO_GROUP_MISSING', 'PKG_BANDWIDTH_MISMATCH', 'PKG_AVERAGE_BANDWIDTH_MISMATCH'],
    ],
    [
      'no I-frame playlists',
      sed('master.m3u8', /#EXT-X-I-FRAME-STREAM-INF[^\n]*\n/g, ''),
      ['PKG_IFRAME_PLAYLIST_MISSING', 'PKG_IFRAME_PLAYLIST_MISSING'],
    ],
    ['I-frame range off by one byte', sed('v1/iframes.m3u8', /@(\d+)\n/, '@1\n'), ['PKG_IFRAME_RANGE_INVALID']],
    ['target duration above 6 s', sed('audio/index.m3u8', /TARGETDURATION:\d+/, 'TARGETDURATION:10'), ['PKG_TARGET_DURATION_TOO_LONG']],
    ['segment missing', (d) => unlink(path.join(d, 'v1/seg_00001.m4s')), ['PKG_SEGMENT_MISSING']],
  ])('%s', async (_name, edit, codes) => {
    expect(await broken(edit)).toEqual(codes);
  });

  it('flags an I-frame playlist that does not span the rendition', async () => {
    expect(await broken(sed('v0/iframes.m3u8', /#EXTINF:1\.000,\n#EXT-X-BYTERANGE:[^\n]*\nseg_00002\.m4s\n/, ''))).toContain(
      'PKG_IFRAME_DURATION_MISMATCH',
    );
  });

  it('flags a segment longer than the target duration', async () => {
    expect(await broken(sed('v0/index.m3u8', '#EXTINF:5.000,', '#EXTINF:8.000,'))).toContain('PKG_SEGMENT_EXCEEDS_TARGET');
  });

  it('flags rungs cut at different times and segments that are not whole GOPs', async () => {
    const codes = await broken(async (d) => {
      // 0–1, 1–5 (off the 2 s grid), 5–9 instead of 0–1, 1–6, 6–9: the same length, cut elsewhere.
      await sed('v0/index.m3u8', '#EXTINF:5.000,', '#EXTINF:4.000,')(d);
      await sed('v0/index.m3u8', '#EXTINF:3.000,', '#EXTINF:4.000,')(d);
    });
    expect(codes).toContain('PKG_RUNGS_MISALIGNED');
    expect(codes).toContain('PKG_SEGMENT_NOT_GOP_MULTIPLE');
    // Only the 1 s first GOP may end the first segment off the 2 s grid: 0–3 is neither.
    const longFirst = await broken(async (d) => {
      await sed('v0/index.m3u8', '#EXTINF:1.000,', '#EXTINF:3.000,')(d);
      await sed('v0/index.m3u8', '#EXTINF:5.000,', '#EXTINF:3.000,')(d);
    });
    expect(longFirst).toContain('PKG_SEGMENT_NOT_GOP_MULTIPLE');
  });

  it('flags I-frame ranges beyond a truncated segment', async () => {
    expect(await broken((d) => truncate(path.join(d, 'v1/seg_00000.m4s'), 3000))).toContain('PKG_IFRAME_RANGE_INVALID');
  });

  it('accepts a silent source: video-only variants without an audio group', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'silent.mp4'), durationSec: 4, audio: false });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const storage = new LocalDiskStorage({ root: path.join(tmp, 'published') });
    const res = await transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      workDir: await mkdtemp(path.join(tmp, 'work-')),
      storage,
      prefix: 'silent',
      logger: pino({ level: 'silent' }),
      threads: 2,
      skipArtwork: true,
    });
    expect(res.pkg.renditions.map((r) => r.kind)).toEqual(['video', 'video']);
    const master = await readFile(path.join(tmp, 'published', 'silent', 'master.m3u8'), 'utf8');
    expect(master).not.toContain('#EXT-X-MEDIA');
    expect(master).toMatch(/CODECS="avc1\.[0-9a-f]{6}",RESOLUTION/);
    expect(await validatePackage(path.join(tmp, 'published', 'silent'))).toEqual([]);
  });

  it('CLI exits 0 on a valid package, 1 with codes on a broken one, 2 on usage errors', async () => {
    const cli = ['--import', 'tsx', path.join(ROOT, 'packager/validate-cli.ts')];
    const ok = await run('node', [...cli, good], { cwd: ROOT });
    expect(ok.stdout).toContain('ok');
    const bad = path.join(tmp, 'cli-bad');
    await cp(good, bad, { recursive: true });
    await unlink(path.join(bad, 'v0/seg_00000.m4s'));
    const failed = await run('node', [...cli, bad, '--json'], { cwd: ROOT }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed?.code).toBe(1);
    const body = JSON.parse(failed!.stdout) as { ok: boolean; violations: Array<{ code: string }> };
    expect(body.ok).toBe(false);
    expect(body.violations.map((v) => v.code)).toContain('PKG_SEGMENT_MISSING');
    const usage = await run('node', cli, { cwd: ROOT }).then(
      () => undefined,
      (e: { code: number }) => e,
    );
    expect(usage?.code).toBe(2);
  });
});
