import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveRecords } from '../../db/archive-records.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { VideoRepository } from '../../db/videos.ts';
import { S3Storage } from '../../storage/s3.ts';
import { startS3rver, type RunningS3rver } from '../../bench/s3rver-server.ts';
import { startStreamStub, type StreamStub } from '../../test/helpers/stream-stub.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { bearer, tokenFor } from '../../test/helpers/auth.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { createLogger } from '../../ops/logger.ts';
import { runRestore } from '../../ops/restore.ts';
import { runRetentionOnce } from '../../ops/retention.ts';

const SECRET = 'stream-webhook-secret-for-tests';

describe('pipeline with S3 publish, R2-style archive and Stream offload', () => {
  let s3: RunningS3rver;
  let stub: StreamStub;
  let t: TestApp;
  let tmp: string;
  let sql: Sql;
  let publish: S3Storage;
  let archive: S3Storage;
  let records: ArchiveRecords;
  let videoId: string;
  let clipSha: string;

  beforeAll(async () => {
    s3 = await startS3rver(['publish', 'archive']);
    stub = await startStreamStub();
    const bucket = (name: string, p: 'S3' | 'ARCHIVE_S3', region: string): Record<string, string> => ({
      [`${p}_ENDPOINT`]: s3.endpoint,
      [`${p}_BUCKET`]: name,
      [`${p}_ACCESS_KEY`]: s3.accessKey,
      [`${p}_SECRET_KEY`]: s3.secretKey,
      [`${p}_REGION`]: region,
    });
    t = await startTestApp({
      env: {
        STORAGE_DRIVER: 's3',
        ...bucket('publish', 'S3', 'us-east-1'),
        ARCHIVE_DRIVER: 's3',
        ...bucket('archive', 'ARCHIVE_S3', 'auto'),
        STREAM_ENABLED: 'true',
        STREAM_ACCOUNT_ID: stub.accountId,
        STREAM_API_TOKEN: stub.token,
        STREAM_API_BASE: stub.apiBase,
        STREAM_WEBHOOK_SECRET: SECRET,
      },
    });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-storage-e2e-'));
    sql = createDb({ url: t.db.url, max: 2 });
    records = new ArchiveRecords(sql);
    const open = (b: string, region: string): Promise<S3Storage> =>
      S3Storage.create({ endpoint: s3.endpoint, bucket: b, region, accessKey: s3.accessKey, secretKey: s3.secretKey });
    publish = await open('publish', 'us-east-1');
    archive = await open('archive', 'auto');
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await t?.close();
    await stub?.close();
    await s3?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const waitReady = (after?: Date): Promise<void> =>
    waitFor(
      async () => {
        const v = await new VideoRepository(sql).get(videoId);
        if (v?.status === 'failed' || v?.status === 'rejected') throw new Error(`video ${v.status}: ${v.error_code} ${v.error_message}`);
        return v?.status === 'ready' && (!after || (v.ready_at && v.ready_at > after)) ? true : undefined;
      },
      { timeoutMs: 90_000, what: 'video ready' },
    ).then(() => undefined);

  it('archives the verified master, offloads it to Stream and publishes HLS to the bucket', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 2, width: 320, height: 180 });
    const rawSha = createHash('sha256')
      .update(await readFile(clip))
      .digest('hex');
    videoId = (await tusUpload(`${t.url}/uploads`, clip, { filename: 'clip.mp4', title: 'Bucket clip' })).videoId;
    await waitReady();
    // The archive keeps the scanned, metadata-stripped master, not the upload as received.
    clipSha = (await new VideoRepository(sql).get(videoId))!.stripped_sha256!;
    expect(clipSha).toMatch(/^[0-9a-f]{64}$/);
    expect(clipSha).not.toBe(rawSha);

    const row = await records.get(videoId);
    expect(row).toMatchObject({ master_sha256: clipSha, archive_key: `masters/${videoId}` });
    expect(row?.archived_at).toBeInstanceOf(Date);
    expect((await archive.head(`masters/${videoId}`))?.metadata['sha256']).toBe(clipSha);

    const keys = await publish.list(`hls/${videoId}/`);
    expect(keys).toContain(`hls/${videoId}/master.m3u8`);
    const seg = keys.find((k) => k.endsWith('.m4s'))!;
    expect(await publish.head(`hls/${videoId}/master.m3u8`)).toMatchObject({
      contentType: 'application/vnd.apple.mpegurl',
      cacheControl: 'public, max-age=2',
    });
    expect(await publish.head(seg)).toMatchObject({
      contentType: 'video/iso.segment',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    const auth = bearer(await tokenFor('mod-s3', 'moderator'));
    const detail = (await (await fetch(`${t.url}/api/videos/${videoId}`, { headers: auth })).json()) as { playback: { url: string } };
    const res = await fetch(`${t.url}${detail.playback.url}`); // the API serves it (signed) from the bucket
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, no-store'); // rewritten with the viewer's signature
    expect(await res.text()).toContain('#EXTM3U');

    expect(row?.stream_uid).toBeTruthy();
    expect(stub.videos.get(row!.stream_uid!)?.sha256).toBe(clipSha);
    expect((await stub.sendWebhook(`${t.url}/webhooks/stream`, row!.stream_uid!, SECRET)).status).toBe(200);
    const forged = await stub.sendWebhook(`${t.url}/webhooks/stream`, row!.stream_uid!, 'wrong-secret');
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: { code: 'STREAM_WEBHOOK_INVALID' } });
    expect((await records.get(videoId))?.stream_state).toBe('queued');
  });

  it('retention drops the staging copy; restore brings the master back and the transcode runs again', async () => {
    const before = await records.get(videoId);
    const staging = before!.staging_path!;
    const logger = createLogger({ level: 'silent' });
    // The `npm run retention` path, with a zero-day retention so the just-archived master is due.
    const swept = await runRetentionOnce({ ...t.config, storage: { ...t.config.storage, stagingRetentionDays: 0 } }, logger);
    expect(swept).toMatchObject({ deleted: 1, kept: 0 });
    expect((await records.get(videoId))?.staging_deleted_at).toBeInstanceOf(Date);
    // With STORAGE_DRIVER=s3 the staging copy is the master object in the publish bucket, not a file of one host.
    const masterKey = `masters/${videoId}/master.mp4`;
    expect(staging).toBe(`bucket:${masterKey}`);
    expect(await publish.head(masterKey)).toBeUndefined();

    const readyBefore = (await new VideoRepository(sql).get(videoId))!.ready_at!;
    const r = await runRestore({ config: t.config, videoId, logger });
    // Checked against the recorded sha256 while it streamed; then put into the bucket for the workers, not kept here.
    expect(r.sha256).toBe(clipSha);
    await expect(stat(r.sourcePath)).rejects.toThrow();
    await waitReady(readyBefore);
    const after = await records.get(videoId);
    // The restored master goes through scan + strip again; the re-stripped master is the new staging copy.
    expect(after).toMatchObject({
      staging_path: `bucket:${masterKey}`,
      staging_deleted_at: null,
      stream_uid: before!.stream_uid,
    });
    // The first strip removed the upload's SEI, so the container's bitrate box of the re-strip differs by a few bytes;
    // the record follows the master that is now on disk.
    const chunks: Buffer[] = [];
    for await (const c of await publish.get(masterKey)) chunks.push(c as Buffer);
    const staged = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    expect(after?.master_sha256).toBe(staged);
    expect(stub.videos.size).toBe(1); // the re-run did not offload a second copy
  });
});
