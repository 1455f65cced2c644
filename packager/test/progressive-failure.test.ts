import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { transcodeAndPackage } from '../../pipeline/package-stage.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { storageSink } from '../../storage/publish.ts';
import { waitFor } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { plannedRenditions } from '../../transcoder/command.ts';
import { planLadder } from '../../transcoder/ladder.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { transcodeLadder } from '../../transcoder/transcode.ts';
import { trackDefaults } from '../boxes.ts';
import { indexSegment, type SegmentIndex } from '../iframes.ts';
import { parseMediaPlaylist } from '../media-playlist.ts';
import { ProgressivePackager, type PackageSink } from '../progressive.ts';
import { validatePackage } from '../validate.ts';
import { feedSlowly } from '../../test/helpers/slow-source.ts';
import { mediaInput } from '../../media/allow-list.ts';

const logger = pino({ level: 'silent' });

describe('progressive publishing under failure', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-progf-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('a transcode killed mid-way leaves EVENT playlists without ENDLIST, and publishing stops', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'slow.ts'), durationSec: 10, width: 320, height: 180 });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const source = await feedSlowly(clip, 10);
    const storage = new LocalDiskStorage({ root: path.join(tmp, 'pub-kill') });
    const abort = new AbortController();
    const err = await transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: source.input,
      allowRemux: false,
      probe,
      workDir: await mkdtemp(path.join(tmp, 'work-')),
      storage,
      prefix: 'p',
      logger,
      threads: 2,
      pollIntervalMs: 50,
      skipArtwork: true,
      signal: abort.signal,
      onPlayable: () => abort.abort(), // kill ffmpeg the moment the first segments are public
    }).catch((e: unknown) => e);
    await source.close();
    expect(isPipelineError(err, 'TRANSCODE_CANCELLED')).toBe(true);
    const dir = path.join(storage.root, 'p');
    const v0 = parseMediaPlaylist(await readFile(path.join(dir, 'v0/index.m3u8'), 'utf8'));
    expect(v0.playlistType).toBe('EVENT');
    expect(v0.endList).toBe(false);
    expect(v0.segments.length).toBeGreaterThan(0);
    const before = (await stat(path.join(dir, 'v0/index.m3u8'))).mtimeMs;
    await new Promise((r) => setTimeout(r, 400));
    expect((await stat(path.join(dir, 'v0/index.m3u8'))).mtimeMs).toBe(before);
    expect((await validatePackage(dir)).map((v) => v.code)).toContain('PKG_NOT_VOD');
  });

  it('retries a failing storage write on the next poll and still publishes everything', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'ok.mp4'), durationSec: 4, width: 320, height: 180 });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const work = await mkdtemp(path.join(tmp, 'work-'));
    const rungs = planLadder(probe);
    await transcodeLadder({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      outDir: work,
      logger,
      rungs,
      threads: 2,
    });
    const storage = new LocalDiskStorage({ root: path.join(tmp, 'pub-flaky') });
    const real = storageSink(storage, 'p');
    let failures = 3;
    const flaky: PackageSink = {
      putFile: async (rel, file) => {
        if (failures-- > 0) throw new Error('storage unavailable');
        await real.putFile(rel, file);
      },
      putText: (rel, text) => real.putText(rel, text),
    };
    let playable = 0;
    const packager = new ProgressivePackager({
      workDir: work,
      renditions: plannedRenditions(rungs, true),
      sink: flaky,
      logger,
      pollIntervalMs: 20,
      onPlayable: () => {
        playable++;
      },
    });
    packager.start();
    await waitFor(async () => (packager.playable ? true : undefined), { timeoutMs: 10_000, what: 'playable despite failures' });
    expect(packager.error).toBeUndefined();
    await packager.finish();
    expect(playable).toBe(1);
    const dir = path.join(storage.root, 'p');
    expect(await validatePackage(dir)).toEqual([]);
    // The index the packager kept while publishing is the published bytes' own (retried writes did not shift twice),
    // so validating from it is validating the package.
    const defaults = trackDefaults(await readFile(path.join(dir, 'v0/init.mp4')));
    const segs = parseMediaPlaylist(await readFile(path.join(dir, 'v0/index.m3u8'), 'utf8')).segments;
    for (const seg of segs) {
      expect(packager.known(`v0/${seg.uri}`)).toEqual(indexSegment(await readFile(path.join(dir, 'v0', seg.uri)), defaults));
    }
    expect(await validatePackage(dir, { known: packager.known })).toEqual([]);
    // And the validator does use it: an index whose key frames end elsewhere is reported.
    const skewed = (rel: string): SegmentIndex | undefined => {
      const i = packager.known(rel);
      return i && { ...i, fragments: i.fragments.map((f) => ({ ...f, keyEnd: f.keyEnd === undefined ? undefined : f.keyEnd + 1e6 })) };
    };
    expect((await validatePackage(dir, { known: skewed })).map((v) => v.code)).toContain('PKG_IFRAME_RANGE_INVALID');
  });
});
