import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoRow } from '../../db/videos.ts';
import { listFiles, startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { EICAR_IN_MP4 } from '../../test/helpers/clamd.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { bearer, tokenFor } from '../../test/helpers/auth.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { readTags, type Tags } from '../../test/helpers/exiftool.ts';
import { makeAudioOnly, makePhoneClip, makePng, makeTruncatedFaststart, makeTruncatedPlain } from '../../test/helpers/media-fixtures.ts';
import { fileSha256, MP4_HEAD } from '../../test/helpers/tus-helpers.ts';
import { pngPastTheSniff } from '../../test/helpers/hostile.ts';

const TERMINAL = new Set(['ready', 'failed', 'rejected', 'infected']);

/** Tags that would tell where, when or with what a video was shot. */
function privateTags(tags: Tags): string[] {
  // Box-format constants ('appl' as the hdlr vendor, the brand) name the file format, not the camera.
  const FORMAT_KEYS = /^(HandlerVendorID|MajorBrand|CompatibleBrands|SourceFile|Directory|FileName)$/;
  const text = JSON.stringify(Object.entries(tags).filter(([k]) => !FORMAT_KEYS.test(k)));
  const keys = Object.keys(tags).filter((k) => /gps|location|make|model|creationdate|owner|serial|software|encoder/i.test(k));
  const values = ['48.2082', '48 deg', '2024', 'Apple', 'iPhone'].filter((v) => text.includes(v));
  return [...keys, ...values];
}

describe('ingest pipeline: scan → validate → strip before transcoding', () => {
  let t: TestApp;
  let tmp: string;
  let sql: postgres.Sql;

  const row = async (id: string): Promise<VideoRow> => (await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${id}`)[0]!;
  const settle = (id: string): Promise<VideoRow> =>
    waitFor(
      async () => {
        const v = await row(id);
        return TERMINAL.has(v.status) ? v : undefined;
      },
      { timeoutMs: 90_000, what: `video ${id} settled` },
    );
  const upload = async (file: string, name: string) => (await tusUpload(`${t.url}/uploads`, file, { title: name, filename: name })).videoId;

  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_DURATION_SEC: '10' } });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-ingest-'));
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('phone clip: stripped master and HLS carry no GPS/device/creation tags and stay portrait', async () => {
    const clip = await makePhoneClip(tmp);
    const before = await readTags(clip);
    expect(privateTags(before).length).toBeGreaterThan(3); // the fixture really carries them
    expect(before.Rotation).toBe(90);
    const id = await upload(clip, 'phone.mov');
    const v = await settle(id);
    expect(v.status).toBe('ready');
    expect(v.scan_result).toBe('clean');
    expect(v.source_sha256).toBe(await fileSha256(clip));
    const master = path.join(t.config.mastersDir, v.stripped_master_key!);
    expect(v.stripped_sha256).toBe(await fileSha256(master));
    const tags = await readTags(master);
    expect(privateTags(tags)).toEqual([]);
    expect(tags.Rotation).toBe(90);
    // The raw upload (with its tags) is gone once the stripped master exists.
    expect(await readdir(t.config.uploadDir)).toEqual([]);
    const rungs = await sql<
      { width: number; height: number }[]
    >`SELECT width, height FROM renditions WHERE video_id = ${id} AND kind = 'video'`;
    expect(rungs.length).toBeGreaterThan(0);
    for (const r of rungs) expect(r.height).toBeGreaterThan(r.width);
    const hlsFiles = (await listFiles(path.join(t.config.publishDir, 'hls', id))).filter((f) => /\.(mp4|m4s)$/.test(f));
    expect(hlsFiles.length).toBeGreaterThan(2);
    // The transcoder's muxer stamps its own Encoder tag (Lavf version); that says nothing about the uploader.
    for (const f of hlsFiles) {
      const found = privateTags(await readTags(f)).filter((k) => k !== 'Encoder');
      expect({ f, found }).toEqual({ f, found: [] });
    }
  });

  it('EICAR upload → infected with the signature, quarantined, nothing transcoded or kept in uploads', async () => {
    const file = path.join(tmp, 'eicar.mp4');
    await writeFile(file, EICAR_IN_MP4); // bare EICAR is refused at upload, before any scan (not a video)
    const id = await upload(file, 'holiday.mp4');
    const v = await settle(id);
    expect(v.status).toBe('infected');
    expect(v.error_code).toBe('INGEST_INFECTED');
    expect(v.scan_result).toBe('infected');
    expect(v.scan_signature).toBe(t.clamd!.eicarSignature);
    expect(v.stripped_master_key).toBeNull();
    expect(path.dirname(v.quarantine_path!)).toBe(t.config.quarantineDir);
    expect(await readFile(v.quarantine_path!)).toEqual(EICAR_IN_MP4);
    expect((await readdir(t.config.uploadDir)).length).toBe(0);
    expect(await listFiles(path.join(t.config.publishDir, 'hls', id))).toEqual([]);
    expect(await listFiles(path.join(t.config.mastersDir, id))).toEqual([]);
    const api = (await (await fetch(`${t.url}/api/videos/${id}`, { headers: bearer(await tokenFor('mod', 'moderator')) })).json()) as {
      status: string;
      error: { code: string };
    };
    expect(api).toMatchObject({ status: 'infected', error: { code: 'INGEST_INFECTED' } });
  });

  it('rejects by content with stable codes: text as .mp4, truncated files, zero bytes, stills, audio, too long', async () => {
    const text = path.join(tmp, 'notes.mp4');
    // Behind an mp4 box header, as if renamed from a video: past the upload's first-bytes check, refused by the probe.
    await writeFile(text, Buffer.concat([MP4_HEAD, Buffer.from('this is a shopping list, not a video\n'.repeat(50))]));
    const empty = path.join(tmp, 'empty.mp4');
    await writeFile(empty, '');
    const long = await makeClip({ out: path.join(tmp, 'long.mp4'), durationSec: 12, width: 64, height: 64, fps: 5, audio: false });
    const cases: Array<[string, string]> = [
      [text, 'INGEST_UNREADABLE'],
      [await makeTruncatedPlain(tmp), 'INGEST_UNREADABLE'],
      [await makeTruncatedFaststart(tmp), 'INGEST_TRUNCATED'],
      [empty, 'INGEST_EMPTY'],
      [await pngPastTheSniff(await makePng(tmp)), 'INGEST_NOT_VIDEO'],
      [await makeAudioOnly(tmp), 'INGEST_NOT_VIDEO'],
      [long, 'INGEST_TOO_LONG'],
    ];
    const ids = [];
    for (const [file] of cases) ids.push(await upload(file, path.basename(file)));
    for (const [i, [file, code]] of cases.entries()) {
      const v = await settle(ids[i]!);
      expect({ file: path.basename(file), status: v.status, code: v.error_code }).toEqual({
        file: path.basename(file),
        status: 'rejected',
        code,
      });
      expect(v.scan_result).toBe('clean');
      expect(await listFiles(path.join(t.config.publishDir, 'hls', ids[i]!))).toEqual([]);
      expect(await listFiles(path.join(t.config.mastersDir, ids[i]!))).toEqual([]);
    }
    expect(await readdir(t.config.workDir)).toEqual([]);
    // Rejected uploads are not kept (they would never expire and may carry location tags).
    expect(await readdir(t.config.uploadDir)).toEqual([]);
  });
});
