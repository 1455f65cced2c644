import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLikeBytes } from './helpers/tus-helpers.ts';
import { listFiles, startTestApp, waitFor, type TestApp } from './helpers/app.ts';
import { bearer, tokenFor } from './helpers/auth.ts';
import {
  GPS_TEXT,
  hostile,
  makeH264WithGps,
  makeMkvWithReferences,
  occurrences,
  pastTheSniff,
  pngPastTheSniff,
  writeHostile,
} from './helpers/hostile.ts';
import { ALIGNED_GOP, makeClip } from './helpers/media.ts';
import { makePng } from './helpers/media-fixtures.ts';
import { fetchUploadToken, tusUpload } from './helpers/tus-upload.ts';

interface VideoJson {
  id: string;
  status: string;
  error: { code: string } | null;
  renditions: Array<{ name: string; kind: string; playlist_key?: string }>;
}

const TERMINAL = new Set(['ready', 'rejected', 'failed', 'infected']);

describe('hostile uploads against the running service', () => {
  let t: TestApp;
  let tmp: string;
  let mod: Record<string, string>;
  let web: Server;
  let hits: string[];
  let origin: string;
  let victimMaster: string;

  async function video(id: string): Promise<VideoJson> {
    const res = await fetch(`${t.url}/api/videos/${id}`, { headers: mod });
    return (await res.json()) as VideoJson;
  }
  const settled = (id: string): Promise<VideoJson> =>
    waitFor(
      async () => {
        const v = await video(id);
        return TERMINAL.has(v.status) ? v : undefined;
      },
      { timeoutMs: 120_000, what: `video ${id} to settle` },
    );

  /** What must hold after any refused upload: nothing published, no master, no work dir, no upload file left. */
  async function assertNothingKept(id: string): Promise<void> {
    expect(await readdir(path.join(t.dataDir, 'published', 'hls', id)).catch(() => [])).toEqual([]);
    expect(await readdir(path.join(t.config.mastersDir, id)).catch(() => [])).toEqual([]);
    expect((await readdir(t.config.workDir)).filter((n) => n.startsWith(id))).toEqual([]);
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-hostile-'));
    t = await startTestApp({ env: { ARCHIVE_DRIVER: 'local', MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) } });
    mod = bearer(await tokenFor('mod-1', 'moderator', { ttlSec: 3600 }));
    hits = [];
    web = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('x');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    // Family A's video, pending moderation: what the attacker is after.
    const clip = await makeClip({ out: path.join(tmp, 'family-a.mp4'), durationSec: 2, width: 320, height: 180 });
    const up = await tusUpload(`${t.url}/uploads`, clip, { title: 'Family A' }, { uploaderId: 'family-a' });
    expect((await settled(up.videoId)).status).toBe('ready');
    const [name] = await readdir(path.join(t.config.mastersDir, up.videoId));
    victimMaster = path.join(t.config.mastersDir, up.videoId, name!);
  });
  afterAll(async () => {
    await new Promise<void>((r) => web.close(() => r()));
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const cases: Array<[string, () => string, string]> = [
    ["an HLS playlist naming another family's master", () => hostile.hlsFile(victimMaster), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['an HLS playlist naming a URL (SSRF)', () => hostile.hlsUrl(`${origin}/segment.ts`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['nested HLS playlists', () => hostile.hlsNested(`${origin}/inner.m3u8`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['an HLS playlist with a data: segment and a remote key', () => hostile.hlsData(`${origin}/key.bin`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['a DASH manifest', () => hostile.dash(`${origin}/`), 'INGEST_UNSUPPORTED_CONTAINER'],
    ['an SDP session description', () => hostile.sdp(5004), 'INGEST_UNSUPPORTED_CONTAINER'],
    ["an ffconcat script naming another family's master", () => hostile.ffconcat(victimMaster), 'INGEST_UNSUPPORTED_CONTAINER'],
  ];
  it.each(cases)('%s is rejected with a stable code; nothing is read, fetched or published', async (_name, text, code) => {
    const file = await writeHostile(tmp, `h-${Math.random().toString(36).slice(2)}.mp4`, pastTheSniff(text()));
    const up = await tusUpload(`${t.url}/uploads`, file, { title: 'Totally a video', filename: 'holiday.mp4' }, { uploaderId: 'family-b' });
    const v = await settled(up.videoId);
    expect(v.status).toBe('rejected');
    expect(v.error?.code).toBe(code);
    await assertNothingKept(up.videoId);
    expect(hits).toEqual([]);
  });

  it("an ffconcat script naming the uploader's own unfinished upload cannot skip the scan or the size limit", async () => {
    // 1.5 MB of an announced 2 MB upload: never finished, so never scanned; the script would splice it in.
    const token = await fetchUploadToken(t.url, 'family-b');
    const create = await fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': String(2 * 1024 * 1024),
        'upload-token': token,
        'upload-metadata': `title ${Buffer.from('half').toString('base64')}`,
      },
    });
    expect(create.status).toBe(201);
    const location = create.headers.get('location')!;
    const patch = await fetch(new URL(location, t.url), {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: new Uint8Array(videoLikeBytes(1.5 * 1024 * 1024)),
    });
    expect(patch.status).toBe(204);
    const partial = path.join(t.config.uploadDir, path.basename(location));
    const script = await writeHostile(tmp, 'concat.txt', pastTheSniff(hostile.ffconcat(partial).repeat(3)));
    const up = await tusUpload(`${t.url}/uploads`, script, { title: 'Concat' }, { uploaderId: 'family-b' });
    const v = await settled(up.videoId);
    expect(v.status).toBe('rejected');
    expect(v.error?.code).toBe('INGEST_UNSUPPORTED_CONTAINER');
    await assertNothingKept(up.videoId);
    // The unfinished upload is still just that: untouched bytes waiting for their owner.
    expect((await stat(partial)).size).toBe(1.5 * 1024 * 1024);
  });

  it('a still image is not a video', async () => {
    const png = await pngPastTheSniff(await makePng(tmp));
    const up = await tusUpload(`${t.url}/uploads`, png, { title: 'Image', filename: 'clip.mp4' }, { uploaderId: 'family-b' });
    const v = await settled(up.videoId);
    expect(v.error?.code).toBe('INGEST_NOT_VIDEO');
    await assertNothingKept(up.videoId);
  });

  it('an MKV whose subtitles and .m3u8 attachment name another file becomes a video of its own streams only', async () => {
    const mkv = await makeMkvWithReferences(tmp, victimMaster);
    const up = await tusUpload(`${t.url}/uploads`, mkv, { title: 'Attachments' }, { uploaderId: 'family-b' });
    const v = await settled(up.videoId);
    expect(v.status).toBe('ready');
    const [name] = await readdir(path.join(t.config.mastersDir, up.videoId));
    const master = await readFile(path.join(t.config.mastersDir, up.videoId, name!));
    // Neither the attachment nor the subtitle text made it into the master.
    expect(occurrences(master, victimMaster)).toBe(0);
    expect(occurrences(master, '#EXTM3U')).toBe(0);
    expect(hits).toEqual([]);
  });

  it('the bytes the scan saw are the bytes that were processed', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'scanned.mp4'), durationSec: 2, width: 160, height: 90 });
    const sha = createHash('sha256')
      .update(await readFile(clip))
      .digest('hex');
    const up = await tusUpload(`${t.url}/uploads`, clip, { title: 'Scanned' }, { uploaderId: 'family-b' });
    expect((await settled(up.videoId)).status).toBe('ready');
    const sql = (await import('postgres')).default(t.db.url, { max: 1 });
    try {
      const [row] = await sql<{ source_sha256: string | null }[]>`SELECT source_sha256 FROM videos WHERE id = ${up.videoId}`;
      expect(row?.source_sha256).toBe(sha);
    } finally {
      await sql.end();
    }
  });

  it('GPS text in the H.264 stream reaches no byte of the master, the archive or the published package (quick path)', async () => {
    const src = await makeH264WithGps(path.join(tmp, 'dashcam.mp4'), { width: 640, height: 360, durationSec: 8, extraArgs: ALIGNED_GOP });
    expect(occurrences(await readFile(src), GPS_TEXT)).toBeGreaterThan(0);
    const up = await tusUpload(`${t.url}/uploads`, src, { title: 'Dashcam' }, { uploaderId: 'family-c' });
    expect((await settled(up.videoId)).status).toBe('ready');
    const files = [
      ...(await listFiles(path.join(t.config.mastersDir, up.videoId))),
      ...(await listFiles(path.join(t.dataDir, 'archive'))),
      ...(await listFiles(path.join(t.dataDir, 'published', 'hls', up.videoId))),
    ];
    expect(files.some((f) => f.includes(`${path.sep}archive${path.sep}`))).toBe(true);
    for (const f of files) expect(occurrences(await readFile(f), GPS_TEXT), f).toBe(0);
    // The quick path was taken: the top rung is the master's stream copied (no x264 settings SEI, which the strip
    // removed), while the encoded rung carries the encoder's own.
    const pub = path.join(t.dataDir, 'published', 'hls', up.videoId);
    const seg = async (dir: string): Promise<Buffer> =>
      readFile(path.join(pub, dir, 'init.mp4')).then(async (init) =>
        Buffer.concat([
          init,
          await readFile(
            path.join(
              pub,
              dir,
              (await readdir(path.join(pub, dir))).find((n) => n.endsWith('.m4s'))!,
            ),
          ),
        ]),
      );
    expect(occurrences(await seg('v1'), 'x264 - core')).toBe(0);
    expect(occurrences(await seg('v0'), 'x264 - core')).toBeGreaterThan(0);
  });
});
