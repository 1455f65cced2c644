import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePackage } from '../../packager/validate.ts';
import { listFiles, startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { bearer, tokenFor } from '../../test/helpers/auth.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';

interface VideoJson {
  status: string;
  previewable: boolean;
  previewableAt: string | null;
  readyAt: string | null;
  playback: { url: string; posterUrl: string | null; storyboardUrl: string | null } | null;
}

describe('pipeline: progressive package, previewable flag, posters and storyboard through the API', () => {
  let t: TestApp;
  let tmp: string;
  let video: VideoJson;
  let videoId: string;
  let auth: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pp-'));
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 4 });
    auth = bearer(await tokenFor('mod-pp', 'moderator', { ttlSec: 600 }));
    videoId = (await tusUpload(`${t.url}/uploads`, clip, { filename: 'clip.mp4', title: 'Packager' })).videoId;
    video = await waitFor(
      async () => {
        const v = (await (await fetch(`${t.url}/api/videos/${videoId}`, { headers: auth })).json()) as VideoJson;
        if (v.status === 'failed' || v.status === 'rejected') throw new Error(`video ${v.status}`);
        return v.status === 'ready' ? v : undefined;
      },
      { timeoutMs: 90_000, what: 'video ready' },
    );
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('records when the video became previewable, no later than ready', () => {
    expect(video.previewable).toBe(true);
    expect(video.previewableAt).not.toBeNull();
    expect(Date.parse(video.previewableAt!)).toBeLessThanOrEqual(Date.parse(video.readyAt!));
  });

  it('serves signed posters and a signed storyboard whose sprite URLs carry the signature', async () => {
    const pb = video.playback!;
    expect(pb.posterUrl).toMatch(new RegExp(`^/hls/${videoId}/poster/poster-640\\.jpg\\?sig=`));
    const poster = await fetch(`${t.url}${pb.posterUrl!}`);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    expect((await sharp(Buffer.from(await poster.arrayBuffer())).metadata()).width).toBe(640);
    const images = (await listFiles(path.join(t.config.publishDir, 'hls', videoId, 'poster')))
      .map((f) => path.basename(f))
      .filter((f) => !f.endsWith('.meta.json'))
      .sort();
    expect(images).toEqual(['poster-320.jpg', 'poster-320.webp', 'poster-640.jpg', 'poster-640.webp']);
    const vttRes = await fetch(`${t.url}${pb.storyboardUrl!}`);
    expect(vttRes.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    const vtt = await vttRes.text();
    expect(vtt).toMatch(/^WEBVTT\n/);
    const cue = vtt.split('\n').find((l) => l.includes('#xywh='))!;
    expect(cue).toMatch(/\?sig=[^#]+#xywh=\d+,\d+,\d+,\d+$/);
    const sprite = await fetch(new URL(cue, `${t.url}${pb.storyboardUrl!}`));
    expect(sprite.status).toBe(200);
    expect(sprite.headers.get('content-type')).toBe('image/jpeg');
    // Unsigned, the same image is refused.
    expect((await fetch(`${t.url}/hls/${videoId}/poster/poster-640.jpg`)).status).toBe(403);
  });

  it('publishes a package that passes the validator and leaves no work files behind', async () => {
    expect(await validatePackage(path.join(t.config.publishDir, 'hls', videoId))).toEqual([]);
    expect(await readdir(t.config.workDir)).toEqual([]);
  });

  it('answers byte-range requests and rejects unsatisfiable ones with 416', async () => {
    const url =
      new URL('v0/init.mp4', `${t.url}${video.playback!.url}`).toString() + video.playback!.url.slice(video.playback!.url.indexOf('?'));
    const part = await fetch(url, { headers: { range: 'bytes=4-7' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).toString('latin1')).toBe('ftyp');
    const bad = await fetch(url, { headers: { range: 'bytes=99999999-' } });
    expect(bad.status).toBe(416);
  });
});
