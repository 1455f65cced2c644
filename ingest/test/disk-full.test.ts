import { mkdir, mkdtemp, readdir, rm, symlink, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { videoLikeBytes, codeOf, runUpload, tusErrorCode } from '../../test/helpers/tus-helpers.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { DiskSpace, isDiskFullError } from '../disk-space.ts';
import { stripVideoMetadata } from '../strip.ts';
import { validateUpload } from '../validate.ts';

const GIB = 1024 ** 3;
const META = { title: 'Disk clip', filename: 'clip.mp4' };
const metaHeader = `title ${Buffer.from('Disk clip').toString('base64')}`;
/** Linux's always-full device: every write to it fails with ENOSPC, without filling a real disk. */
const DEV_FULL = '/dev/full';

describe('DiskSpace', () => {
  const disk = (freeBytes: number, reserveBytes: number) =>
    new DiskSpace({ path: '/data', reserveBytes, statfs: async () => ({ bavail: BigInt(freeBytes / 4096), bsize: 4096n }) });

  it('lets an upload in only if its declared length still leaves the reserve free', async () => {
    const d = disk(3 * GIB, 2 * GIB);
    await expect(d.assertRoom(512 * 1024 ** 2)).resolves.toBeUndefined();
    await expect(d.assertRoom(GIB)).resolves.toBeUndefined();
    const err = await d.assertRoom(GIB + 4096).catch((e: unknown) => e);
    expect(isPipelineError(err, 'INGEST_DISK_FULL') && err.statusCode).toBe(507);
    // A deferred length (checked as 0 bytes) is refused only once the reserve itself is gone.
    await expect(disk(2 * GIB - 4096, 2 * GIB).assertRoom(0)).rejects.toMatchObject({ code: 'INGEST_DISK_FULL' });
  });

  it('recognises a full disk from node errnos and from ffmpeg stderr', () => {
    expect(isDiskFullError(Object.assign(new Error('write'), { code: 'ENOSPC' }))).toBe(true);
    expect(isDiskFullError(Object.assign(new Error('write'), { code: 'EDQUOT' }))).toBe(true);
    expect(isDiskFullError({ stderr: 'av_interleaved_write_frame(): No space left on device' })).toBe(true);
    expect(isDiskFullError(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe(false);
  });
});

describe('uploads when the data volume is below its reserve', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A reserve no test machine has free (1 PiB): the real statfs of DATA_DIR is below it.
    t = await startTestApp({ roles: ['api'], env: { DISK_RESERVE_BYTES: String(1024 ** 5) } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses new uploads with JSON 507 INGEST_DISK_FULL before any byte is stored, and /readyz fails', async () => {
    const token = await fetchUploadToken(t.url);
    const res = await fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Token': token, 'Upload-Length': '1000', 'Upload-Metadata': metaHeader },
    });
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('retry-after')).toBe('5');
    expect([res.status, await codeOf(res)]).toEqual([507, 'INGEST_DISK_FULL']);
    const err = await runUpload(videoLikeBytes(1000), {
      endpoint: `${t.url}/uploads`,
      headers: { 'Upload-Token': token },
      metadata: META,
    }).catch((e: unknown) => e);
    expect(tusErrorCode(err)).toEqual({ status: 507, code: 'INGEST_DISK_FULL' });
    expect(await readdir(t.config.uploadDir)).toEqual([]);
    const ready = await fetch(`${t.url}/readyz`);
    const report = (await ready.json()) as { checks: Record<string, { status: string; error?: string }> };
    expect(ready.status).toBe(503);
    expect(report.checks['disk']).toMatchObject({ status: 'fail', error: expect.stringContaining('DISK_RESERVE_BYTES') });
  });
});

describe('a disk that fills up while bytes arrive', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a PATCH that hits ENOSPC with JSON 507 INGEST_DISK_FULL, naming no errno or path', async () => {
    const token = await fetchUploadToken(t.url);
    const created = await fetch(`${t.url}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Token': token, 'Upload-Length': '5000', 'Upload-Metadata': metaHeader },
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, t.url).toString();
    const file = path.join(t.config.uploadDir, path.basename(new URL(url).pathname));
    // The upload's data file now sits on a device that is always full.
    await unlink(file);
    await symlink(DEV_FULL, file);
    const res = await fetch(url, {
      method: 'PATCH',
      body: new Uint8Array(videoLikeBytes(5000)),
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    });
    const body = await res.clone().text();
    expect(res.headers.get('content-type')).toContain('application/json');
    expect([res.status, await codeOf(res)]).toEqual([507, 'INGEST_DISK_FULL']);
    expect(body).not.toMatch(/ENOSPC|No space left|\/tmp|uploads\//);
  });

  it('answers requests @tus/server refuses by itself with JSON and a stable code', async () => {
    const noVersion = await fetch(`${t.url}/uploads`, { method: 'POST', headers: { 'Upload-Length': '10' } });
    expect([noVersion.status, await codeOf(noVersion)]).toEqual([412, 'INGEST_TUS_VERSION']);
    const missing = await fetch(`${t.url}/uploads/${'0'.repeat(32)}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(missing.status).toBe(404);
    const patch = await fetch(`${t.url}/uploads/${'0'.repeat(32)}`, {
      method: 'PATCH',
      body: new Uint8Array(1),
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
    });
    expect([patch.status, await codeOf(patch)]).toEqual([404, 'INGEST_UPLOAD_NOT_FOUND']);
  });
});

describe('strip on a full disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-strip-full-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with INGEST_DISK_FULL, not INGEST_STRIP_FAILED, and leaves no temp file', async () => {
    const clip = await makeClip({ out: path.join(dir, 'in.mp4'), durationSec: 1, width: 160, height: 120 });
    const bins = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
    const v = await validateUpload(clip, { ...bins, maxDurationSec: 60 });
    const outDir = path.join(dir, 'masters', 'v1');
    await mkdir(outDir, { recursive: true });
    // ffmpeg writes the master's temp file through this link onto the always-full device.
    await symlink(DEV_FULL, path.join(outDir, 'master.tmp.mp4'));
    const err = await stripVideoMetadata({
      ...bins,
      input: v.input,
      videoCodec: v.videoCodec,
      outBase: path.join(outDir, 'master'),
      declaredDurationSec: v.durationSec,
    }).catch((e: unknown) => e);
    expect(isPipelineError(err) && err.code).toBe('INGEST_DISK_FULL');
    expect(await readdir(outDir)).toEqual([]);
  });
});
