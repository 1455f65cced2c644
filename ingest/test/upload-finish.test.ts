import { readdir, rm, utimes } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import postgres from 'postgres';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../core/types.ts';
import { redisConnection } from '../../pipeline/redis.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { TEST_ADMIN_DATABASE_URL, TEST_REDIS_URL } from '../../test/helpers/env.ts';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-reset-proxy.ts';
import { videoLikeBytes, codeOf, fileSha256, runUpload, sha256, storedPath, tusErrorCode } from '../../test/helpers/tus-helpers.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';

const META = { title: 'Outage clip', filename: 'clip.mp4' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CHUNK = 256 * 1024;

const target = (url: string, defaultPort: number) => ({ host: new URL(url).hostname, port: Number(new URL(url).port || defaultPort) });
const uploadIdOf = (url: string): string => new URL(url).pathname.split('/').pop()!;

/** Collects the app's log lines (the expected errors stay out of the test output, and can be checked). */
function lineSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

/** What tus-js-client saw fail: "<method> <status> <code>" (HEAD answers carry no body, so no code). */
function describeFailure(err: Error): string {
  const { status, code } = tusErrorCode(err);
  const method = (err as tus.DetailedError).originalRequest?.getMethod() ?? '?';
  return [method, status, code].filter((x) => x !== undefined).join(' ');
}

/** Uploads `data` in 256 KiB chunks and runs `beforeLast` once every chunk but the last is stored. */
function uploadCuttingBeforeLast(
  data: Buffer,
  o: { endpoint: string; token: string; beforeLast: () => void; retryDelays: number[]; onRetry?: (failure: string) => void },
): Promise<{ url: string; videoId: string | undefined }> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      endpoint: o.endpoint,
      chunkSize: CHUNK,
      metadata: META,
      headers: { 'Upload-Token': o.token },
      retryDelays: o.retryDelays,
      onChunkComplete: (_size, accepted, total) => {
        if (total - accepted <= CHUNK && accepted < total) o.beforeLast();
      },
      onShouldRetry: (err) => {
        o.onRetry?.(describeFailure(err));
        return true;
      },
      onError: (err) => reject(Object.assign(err, { uploadUrl: up.url })),
      onSuccess: (p) => resolve({ url: up.url ?? '', videoId: p.lastResponse.getHeader('Video-Id') }),
    });
    up.start();
  });
}

describe('the end of an upload while PostgreSQL is down', () => {
  let pg: TcpProxy;
  let t: TestApp;
  let sql: postgres.Sql;
  let queue: Queue;
  let endpoint: string;
  let token: string;
  const log = lineSink();

  beforeAll(async () => {
    pg = await startTcpProxy(target(TEST_ADMIN_DATABASE_URL, 5432));
    t = await startTestApp({
      roles: ['api'],
      databaseUrl: (u) => pg.via(u),
      env: { UPLOAD_SWEEP_INTERVAL_SEC: '1' },
      logStream: log.stream,
    });
    sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
    queue = new Queue(QUEUE_NAMES.transcode, { connection: redisConnection(TEST_REDIS_URL), prefix: t.config.queuePrefix });
    endpoint = `${t.url}/uploads`;
    token = await fetchUploadToken(t.url);
  });
  afterAll(async () => {
    pg?.restore();
    await queue?.close();
    await sql?.end();
    await t?.close();
    await pg?.close();
  });

  it('refuses the final PATCH with 423 until the video is recorded; tus-js-client retries with HEAD and gets the Video-Id', async () => {
    const data = videoLikeBytes(2 * CHUNK + 5000);
    const failures: string[] = [];
    const done = await uploadCuttingBeforeLast(data, {
      endpoint,
      token,
      beforeLast: () => pg.cut(),
      retryDelays: Array<number>(10).fill(100),
      onRetry: (f) => {
        failures.push(f);
        // The final PATCH failed, then a resuming HEAD: only now does the database come back.
        if (failures.length === 2) pg.restore();
      },
    });
    expect(failures).toEqual(['PATCH 423 INGEST_FINISH_PENDING', 'HEAD 423']);
    // The operator sees why; the client saw only the code.
    expect(log.lines.some((l) => l.includes('INGEST_FINISH_PENDING') && l.includes('ECONNRESET'))).toBe(true);
    expect(done.videoId).toMatch(UUID);
    const [row] = await sql<{ status: string; upload_id: string }[]>`SELECT status, upload_id FROM videos WHERE id = ${done.videoId!}`;
    expect(row).toEqual({ status: 'uploaded', upload_id: uploadIdOf(done.url) });
    expect((await queue.getJob(done.videoId!))?.data).toMatchObject({ videoId: done.videoId });
    expect(await fileSha256(storedPath(t.config.uploadDir, done.url))).toBe(sha256(data));
    // Asking again changes nothing: the same video, one row.
    const head = await fetch(done.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect([head.status, head.headers.get('video-id')]).toEqual([200, done.videoId]);
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM videos WHERE upload_id = ${uploadIdOf(done.url)}`;
    expect(count?.n).toBe(1);
    // Its bytes are counted once, however often it was finished.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^kidstream_upload_bytes_total ${data.length}$`, 'm'));
  });

  it('keeps the partials of a parallel upload until its video is recorded, so the retried final request succeeds', async () => {
    const data = videoLikeBytes(3 * CHUNK);
    const failures: string[] = [];
    let cut = false;
    const done = await new Promise<{ url: string; videoId: string | undefined }>((resolve, reject) => {
      const up = new tus.Upload(data, {
        endpoint,
        chunkSize: CHUNK,
        parallelUploads: 2,
        metadata: META,
        headers: { 'Upload-Token': token },
        retryDelays: [100, 100, 100],
        // Every byte is on its way: the database goes before the final (concatenation) request.
        onProgress: (sent, total) => {
          if (sent === total && !cut) {
            cut = true;
            pg.cut();
          }
        },
        onShouldRetry: (err) => {
          failures.push(describeFailure(err));
          pg.restore();
          return true;
        },
        onError: reject,
        onSuccess: (p) => resolve({ url: up.url ?? '', videoId: p.lastResponse.getHeader('Video-Id') }),
      });
      up.start();
    });
    expect(failures).toEqual(['POST 423 INGEST_FINISH_PENDING']);
    expect(done.videoId).toMatch(UUID);
    expect(await fileSha256(storedPath(t.config.uploadDir, done.url))).toBe(sha256(data));
    expect((await readdir(t.config.uploadDir)).filter((n) => n.startsWith('partial-'))).toEqual([]);
    expect(await sql`SELECT 1 FROM videos WHERE upload_id = ${uploadIdOf(done.url)}`).toHaveLength(1);
  });

  it('finishes in the background an upload whose client gave up during the outage; a later HEAD answers its Video-Id', async () => {
    const data = videoLikeBytes(CHUNK + 1000);
    const failed = await uploadCuttingBeforeLast(data, { endpoint, token, beforeLast: () => pg.cut(), retryDelays: [] }).then(
      () => undefined,
      (err: Error & { uploadUrl?: string }) => err,
    );
    expect(failed && describeFailure(failed)).toBe('PATCH 423 INGEST_FINISH_PENDING');
    const url = failed!.uploadUrl!;
    const id = uploadIdOf(url);
    expect(await sql`SELECT 1 FROM videos WHERE upload_id = ${id}`).toHaveLength(0);
    pg.restore();
    // The sweep leaves files alone for a minute after their last write (a request may still be verifying them).
    const file = storedPath(t.config.uploadDir, url);
    const past = new Date(Date.now() - 120_000);
    for (const f of [file, `${file}.json`]) await utimes(f, past, past);
    const videoId = await waitFor(async () => (await sql<{ id: string }[]>`SELECT id FROM videos WHERE upload_id = ${id}`)[0]?.id, {
      timeoutMs: 30_000,
      what: 'the sweep to record the stranded upload',
    });
    expect((await queue.getJob(videoId))?.data).toMatchObject({ videoId });
    const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect([head.status, head.headers.get('video-id')]).toEqual([200, videoId]);
  });

  it('answers a HEAD as complete with the Video-Id after processing removed the upload, so a resume never uploads again', async () => {
    const data = videoLikeBytes(30_000);
    const done = await runUpload(data, { endpoint, headers: { 'Upload-Token': token }, metadata: META });
    // What the worker does once the metadata-free master exists.
    const file = storedPath(t.config.uploadDir, done.url);
    await rm(file);
    await rm(`${file}.json`);
    const head = () => fetch(done.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    let res = await head();
    expect([res.status, res.headers.get('upload-offset'), res.headers.get('upload-length')]).toEqual([200, '30000', '30000']);
    expect(res.headers.get('video-id')).toBe(done.videoId);
    // A client that never saw the final answer resumes: it reports success without sending a byte.
    let patches = 0;
    const resumed = await runUpload(data, {
      endpoint,
      uploadUrl: done.url,
      headers: { 'Upload-Token': token },
      metadata: META,
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'PATCH' || req.getMethod() === 'POST') patches++;
      },
    });
    expect([resumed.videoId, patches]).toEqual([done.videoId, 0]);
    pg.cut();
    try {
      expect((await head()).status).toBe(423); // cannot tell yet: retry, do not start over
    } finally {
      pg.restore();
    }
    await sql`DELETE FROM videos WHERE id = ${done.videoId!}`;
    res = await head();
    expect(res.status).toBe(410);
  });

  it('answers a creation during the outage with JSON 503 INGEST_UNAVAILABLE that names no host or errno', async () => {
    pg.cut();
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Token': token,
          'Upload-Length': '10',
          'Upload-Metadata': `title ${Buffer.from('x').toString('base64')}`,
        },
      });
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.headers.get('retry-after')).toBe('5');
      const body = await res.clone().text();
      expect([res.status, await codeOf(res)]).toEqual([503, 'INGEST_UNAVAILABLE']);
      expect(body).not.toMatch(/ECONN|CONNECTION_|127\.0\.0\.1|:\d{4,5}\b|postgres/i);
    } finally {
      pg.restore();
    }
  });
});

describe('the end of an upload while Redis is down', () => {
  let redis: TcpProxy;
  let t: TestApp;
  const log = lineSink();

  beforeAll(async () => {
    redis = await startTcpProxy(target(TEST_REDIS_URL, 6379));
    t = await startTestApp({ roles: ['api'], env: { REDIS_URL: redis.via(TEST_REDIS_URL) }, logStream: log.stream });
  });
  afterAll(async () => {
    redis?.restore();
    await t?.close();
    await redis?.close();
  });

  it('still answers with the Video-Id: the row is the durable record and stays `uploaded` for the reconciler', async () => {
    const token = await fetchUploadToken(t.url);
    redis.cut();
    try {
      const done = await runUpload(videoLikeBytes(50_000), {
        endpoint: `${t.url}/uploads`,
        headers: { 'Upload-Token': token },
        metadata: META,
      });
      expect(done.videoId).toMatch(UUID);
      const sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await sql<{ status: string }[]>`SELECT status FROM videos WHERE id = ${done.videoId!}`;
        expect(row?.status).toBe('uploaded');
      } finally {
        await sql.end();
      }
      expect(log.lines.some((l) => l.includes(done.videoId!) && l.includes('its job was not queued'))).toBe(true);
    } finally {
      redis.restore();
    }
  });
});
