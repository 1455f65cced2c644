import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMediaPlaylist } from '../../packager/media-playlist.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { seedPlayableVideo } from '../../test/helpers/playable.ts';
import type { VideoRow } from '../../db/videos.ts';
import { downloadGrant } from '../routes/downloads.ts';
import { call, codeOf } from './http.ts';

const run = promisify(execFile);

interface DownloadOut {
  url: string;
  rendition: string;
  sizeBytes: number;
  expiresAt: string;
}

describe('progressive MP4 downloads remuxed from the published rung', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let storage: LocalDiskStorage;
  let tmp: string;
  let id: string;
  let owner: string;
  let mod: string;
  let stranger: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    storage = new LocalDiskStorage({ root: t.config.publishDir });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-dl-test-'));
    id = await seedPlayableVideo(sql, storage, { uploaderId: 'owner', durationSec: 2.5 });
    [owner, mod, stranger] = await Promise.all([tokenFor('owner', 'uploader'), tokenFor('m', 'moderator'), tokenFor('x', 'uploader')]);
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** Sum of the rung's EXTINF durations: what the MP4 must last. */
  async function rungDuration(name: string): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const c of await storage.get(`hls/${id}/${name}/index.m3u8`)) chunks.push(c as Buffer);
    return parseMediaPlaylist(Buffer.concat(chunks).toString('utf8')).segments.reduce((s, x) => s + x.duration, 0);
  }

  it('gives the owner a signed MP4 of the rung that ffprobe reads end to end with the rung duration, index first', async () => {
    const res = await call<DownloadOut>(t.url, 'POST', `/api/videos/${id}/download`, { token: owner, body: { rendition: 'v1' } });
    expect(res.status).toBe(200);
    expect(res.body.url).toMatch(new RegExp(`^/hls/${id}/downloads/v1\\.mp4\\?sig=`));
    const file = await fetch(`${t.url}${res.body.url}`);
    expect([file.status, file.headers.get('content-type'), file.headers.get('accept-ranges')]).toEqual([200, 'video/mp4', 'bytes']);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${id}-v1.mp4"`);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.length).toBe(res.body.sizeBytes);
    const out = path.join(tmp, 'v1.mp4');
    await writeFile(out, bytes);
    // -count_packets decodes nothing but walks every packet: a file cut short or with a broken index fails here.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_packets', '-show_format', '-show_streams', '-of', 'json', out]);
    const probe = JSON.parse(stdout) as {
      format: { duration: string; format_name: string };
      streams: Array<{ codec_type: string; codec_name: string; width?: number; nb_read_packets: string }>;
    };
    expect(probe.format.format_name).toContain('mp4');
    expect(Math.abs(Number(probe.format.duration) - (await rungDuration('v1')))).toBeLessThan(0.15);
    const video = probe.streams.find((s) => s.codec_type === 'video');
    expect([video?.codec_name, video?.width]).toEqual(['h264', 192]);
    expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
    expect(Number(video?.nb_read_packets)).toBe(75); // 2.5 s at 30 fps: every frame, none re-encoded away
    // +faststart: the index (moov) comes before the media (mdat).
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
    // No temp directory of the build is left behind.
    expect((await readdir(os.tmpdir())).filter((n) => n.startsWith('ks-download-'))).toEqual([]);
  });

  it('answers Range requests, and caches the file (a second request does not rebuild it)', async () => {
    const before = await storage.head(`hls/${id}/downloads/v1.mp4`);
    const res = await call<DownloadOut>(t.url, 'POST', `/api/videos/${id}/download`, { token: mod, body: { rendition: 'v1' } });
    expect(res.status).toBe(200);
    expect((await storage.head(`hls/${id}/downloads/v1.mp4`))?.lastModified).toEqual(before?.lastModified);
    const part = await fetch(`${t.url}${res.body.url}`, { headers: { range: 'bytes=100-199' } });
    expect([part.status, part.headers.get('content-range')]).toEqual([206, `bytes 100-199/${res.body.sizeBytes}`]);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    const tail = await fetch(`${t.url}${res.body.url}`, { headers: { range: `bytes=${res.body.sizeBytes}-` } });
    expect(tail.status).toBe(416);
  });

  it('refuses unsigned and tampered links, strangers, unknown rungs, and viewers while viewer downloads are off', async () => {
    const res = await call<DownloadOut>(t.url, 'POST', `/api/videos/${id}/download`, { token: owner, body: { rendition: 'v1' } });
    const unsigned = res.body.url.split('?')[0]!;
    expect(codeOf(await call(t.url, 'GET', unsigned))).toBe('PLAYBACK_SIGNATURE_MISSING');
    expect(codeOf(await call(t.url, 'GET', `${res.body.url.slice(0, -3)}abc`))).toBe('PLAYBACK_SIGNATURE_INVALID');
    const other = await call(t.url, 'POST', `/api/videos/${id}/download`, { token: stranger, body: { rendition: 'v1' } });
    expect(codeOf(other)).toBe('PLAYBACK_NOT_APPROVED');
    expect(codeOf(await call(t.url, 'POST', `/api/videos/${id}/download`, { token: owner, body: { rendition: 'audio' } }))).toBe(
      'API_NOT_FOUND',
    );
    expect(codeOf(await call(t.url, 'POST', `/api/videos/${id}/download`, { token: owner, body: { rendition: '../v1' } }))).toBe(
      'API_BAD_REQUEST',
    );
    await call(t.url, 'POST', `/api/moderation/videos/${id}/approve`, { token: mod, body: {} });
    const anon = await call(t.url, 'POST', `/api/videos/${id}/download`, { body: { rendition: 'v1' } });
    expect([anon.status, codeOf(anon)]).toEqual([403, 'PLAYBACK_DOWNLOAD_DISABLED']);
    // A viewer's playback signature does not open the download either.
    const play = await call<{ url: string }>(t.url, 'GET', `/api/playback/${id}`);
    const sig = new URL(play.body.url, t.url).searchParams.get('sig')!;
    const viaPlayback = await call(t.url, 'GET', `/hls/${id}/downloads/v1.mp4?sig=${encodeURIComponent(sig)}`);
    expect(codeOf(viaPlayback)).toBe('PLAYBACK_DOWNLOAD_DISABLED');
    // The owner's link keeps working after approval.
    expect((await fetch(`${t.url}${res.body.url}`, { headers: { range: 'bytes=0-9' } })).status).toBe(206);
  });

  it('decides who gets which download link, with the viewer switch on and off', () => {
    const row = (moderation: 'pending' | 'approved' | 'rejected'): VideoRow =>
      ({ status: 'ready', moderation_status: moderation, uploader_id: 'owner', previewable_at: null, access_epoch: 0 }) as VideoRow;
    const ownerP = { id: 'owner', role: 'uploader' } as const;
    const modP = { id: 'm', role: 'moderator' } as const;
    const otherP = { id: 'x', role: 'uploader' } as const;
    expect(downloadGrant(row('approved'), ownerP, false)).toEqual({ audience: 'owner', principalId: 'owner' });
    expect(downloadGrant(row('rejected'), ownerP, true)).toBe('PLAYBACK_REJECTED');
    expect(downloadGrant(row('rejected'), modP, false)).toEqual({ audience: 'moderator', principalId: 'm' });
    expect(downloadGrant(row('approved'), otherP, false)).toBe('PLAYBACK_DOWNLOAD_DISABLED');
    expect(downloadGrant(row('approved'), undefined, true)).toEqual({ audience: 'public' });
    expect(downloadGrant(row('pending'), undefined, true)).toBe('PLAYBACK_NOT_APPROVED');
    expect(downloadGrant(row('pending'), otherP, true)).toBe('PLAYBACK_NOT_APPROVED');
  });
});
