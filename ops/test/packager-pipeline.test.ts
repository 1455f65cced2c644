import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePackage } from '../../packager/validate.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';

interface VideoJson {
  status: string;
  previewable: boolean;
  previewableAt: string | null;
  readyAt: string | null;
  masterUrl: string | null;
  posterUrl: string | null;
  storyboardUrl: string | null;
  posters: Array<{ url: string; width: number; format: string }>;
}

describe('pipeline: progressive package, previewable flag, posters and storyboard through the API', () => {
  let t: TestApp;
  let tmp: string;
  let video: VideoJson;
  let videoId: string;

  beforeAll(async () => {
    t = await startTestApp();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pp-'));
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 4 });
    videoId = (await tusUpload(`${t.url}/uploads`, clip, { filename: 'clip.mp4', title: 'Packager' })).videoId;
    video = await waitFor(async () => {
      const v = (await (await fetch(`${t.url}/api/videos/${videoId}`)).json()) as VideoJson;
      if (v.status === 'failed' || v.status === 'rejected') throw new Error(`video ${v.status}`);
      return v.status === 'ready' ? v : undefined;
    }, { timeoutMs: 90_000, what: 'video ready' });
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

  it('serves posters and the storyboard with image/VTT content types', async () => {
    expect(video.posterUrl).toBe(`/hls/${videoId}/poster/poster-640.jpg`);
    expect(video.posters.map((p) => `${p.width}.${p.format}`).sort()).toEqual(['320.jpeg', '320.webp', '640.jpeg', '640.webp']);
    for (const p of video.posters) {
      const res = await fetch(`${t.url}${p.url}`);
      expect(res.headers.get('content-type')).toBe(p.format === 'jpeg' ? 'image/jpeg' : 'image/webp');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect(meta.width).toBe(p.width);
    }
    const vtt = await fetch(`${t.url}${video.storyboardUrl!}`);
    expect(vtt.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(await vtt.text()).toMatch(/^WEBVTT\n/);
  });

  it('publishes a package that passes the validator and leaves no work files behind', async () => {
    expect(await validatePackage(path.join(t.config.publishDir, 'hls', videoId))).toEqual([]);
    expect(await readdir(t.config.workDir)).toEqual([]);
  });

  it('answers byte-range requests and rejects unsatisfiable ones with 416', async () => {
    const url = `${t.url}/hls/${videoId}/v0/init.mp4`;
    const part = await fetch(url, { headers: { range: 'bytes=4-7' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).toString('latin1')).toBe('ftyp');
    const bad = await fetch(url, { headers: { range: 'bytes=99999999-' } });
    expect(bad.status).toBe(416);
  });
});
