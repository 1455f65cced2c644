import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue, UnrecoverableError } from 'bullmq';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../../core/errors.ts';
import { QUEUE_NAMES, type TranscodeJobData } from '../../core/types.ts';
import { createDb } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { VideoRepository, type VideoRow } from '../../db/videos.ts';
import { scanFile } from '../../ingest/scan.ts';
import { S3Storage } from '../../storage/s3.ts';
import { classifyFailure } from '../../transcoder/run-ffmpeg.ts';
import { startS3rver, type RunningS3rver } from '../../bench/s3rver-server.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { createTestDatabase } from '../../test/helpers/db.ts';
import { TEST_ADMIN_DATABASE_URL } from '../../test/helpers/env.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { backoffDelay, classifyOutage, nextWait } from '../outage.ts';
import { prepareMaster } from '../prepare.ts';
import { redisConnection } from '../redis.ts';

const run = promisify(execFile);
const up = { probeDatabase: async () => undefined };
const down = { probeDatabase: () => Promise.reject(new Error('connect ECONNREFUSED')) };
/** Waits and attempts the integration tests use: one attempt, so a wait that spent it would fail the video. */
const FAST_WAITS = { TRANSCODE_ATTEMPTS: '1', DEPENDENCY_BACKOFF_MS: '200', DEPENDENCY_BACKOFF_MAX_MS: '1000', LOG_LEVEL: 'silent' };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('classifyOutage on real errors', () => {
  it('clamd unreachable → clamd; clamd answering ERROR, or dropping a scan half-way, is not an outage', async () => {
    const err = await rejection(scanFile(import.meta.filename, { socket: path.join(os.tmpdir(), 'no-such-clamd.sock') }));
    expect(await classifyOutage(err, up)).toBe('clamd');
    expect(await classifyOutage(new PipelineError('INGEST_SCAN_FAILED', 'clamd: size limit ERROR'), up)).toBeUndefined();
    // A clamd that dies while reading the file may have been killed by it: that run spends an attempt, no endless wait.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-clamd-drop-'));
    const socket = path.join(dir, 'clamd.sock');
    const dropper = net.createServer((c) => c.once('data', () => c.destroy()));
    await new Promise<void>((r) => dropper.listen(socket, r));
    try {
      const dropped = await rejection(scanFile(import.meta.filename, { socket }));
      expect(dropped).toMatchObject({ code: 'INGEST_SCAN_UNAVAILABLE', context: { phase: 'scan' } });
      expect(await classifyOutage(dropped, up)).toBeUndefined();
    } finally {
      await new Promise((r) => dropper.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL refusing connections → database, but only when the database itself does not answer', async () => {
    const u = new URL(TEST_ADMIN_DATABASE_URL);
    u.port = '1';
    const sql = postgres(u.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    const err = await rejection(sql`SELECT 1`);
    await sql.end({ timeout: 1 });
    expect(await classifyOutage(err, down)).toBe('database');
    // The same socket error while the database answers came from something else: the job's own failure.
    expect(await classifyOutage(err, up)).toBeUndefined();
  });

  it('a PostgreSQL backend terminated under a query (server restart) → database, whatever the probe says', async () => {
    const victim = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
    const admin = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      const [{ pid }] = await victim<[{ pid: number }]>`SELECT pg_backend_pid() AS pid`;
      const sleeping = rejection(victim`SELECT pg_sleep(30)`);
      await waitFor(
        async () =>
          (await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`)[0]!.n >
            0 || undefined,
        { timeoutMs: 10_000, what: 'query running' },
      );
      await admin`SELECT pg_terminate_backend(${pid})`;
      const err = await sleeping;
      expect(await classifyOutage(err, up)).toBe('database');
    } finally {
      await victim.end({ timeout: 1 });
      await admin.end({ timeout: 1 });
    }
  });

  it('a full disk → disk: an ENOSPC errno in the cause chain, or ffmpeg saying so in its stderr', async () => {
    const enospc = await rejection(writeFile('/dev/full', Buffer.alloc(1024)));
    expect((enospc as NodeJS.ErrnoException).code).toBe('ENOSPC');
    const wrapped = new PipelineError('INGEST_STRIP_FAILED', 'ffmpeg could not remux the upload.', {}, { cause: enospc });
    expect(await classifyOutage(wrapped, up)).toBe('disk');
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=d=1', '-f', 'mpegts', '-y', '/dev/full']).catch(
      (e: { stderr: string }) => e,
    );
    expect(stderr).toMatch(/no space left on device/i);
    // The transcoder must not take it for a damaged source (that would reject the video for good).
    const code = classifyFailure(`Error while decoding stream #0:0\n${stderr}`, false);
    expect(code).toBe('TRANSCODE_FFMPEG_FAILED');
    expect(await classifyOutage(new PipelineError(code, 'ffmpeg failed', { stderrTail: stderr }), up)).toBe('disk');
  });

  it('an object store that does not answer → storage', async () => {
    const err = await rejection(S3Storage.create({ endpoint: 'http://127.0.0.1:1', bucket: 'b', accessKey: 'k', secretKey: 's' }));
    expect(await classifyOutage(err, up)).toBe('storage');
  });

  it('verdicts, cancels and the job’s own errors are never outages', async () => {
    expect(await classifyOutage(new UnrecoverableError('INGEST_INFECTED'), down)).toBeUndefined();
    expect(await classifyOutage(new PipelineError('TRANSCODE_CANCELLED', 'cancelled'), down)).toBeUndefined();
    expect(await classifyOutage(new PipelineError('TRANSCODE_SOURCE_CORRUPT', 'bad'), down)).toBeUndefined();
    expect(await classifyOutage(new Error('boom'), down)).toBeUndefined();
  });

  it('backs off from the base delay, doubling to the cap; a streak continues only for the same dependency', () => {
    const b = { baseMs: 5000, maxMs: 300_000 };
    expect([0, 1, 2, 3, 5, 6, 7, 100].map((n) => backoffDelay(n, b))).toEqual([
      5000, 10_000, 20_000, 40_000, 160_000, 300_000, 300_000, 300_000,
    ]);
    const first = nextWait(undefined, 'clamd', 1000);
    expect(first).toEqual({ dependency: 'clamd', since: 1000, count: 0 });
    expect(nextWait(first, 'clamd', 9000)).toEqual({ dependency: 'clamd', since: 1000, count: 1 });
    expect(nextWait(first, 'disk', 9000)).toEqual({ dependency: 'disk', since: 9000, count: 0 });
  });
});

/** A fresh database with one uploaded video whose tus upload (and its .json) lies in `<dir>/uploads`. */
async function withUploadedVideo(
  text: string,
  test: (f: { videos: VideoRepository; id: string; dir: string; source: string }) => Promise<void>,
): Promise<void> {
  const db = await createTestDatabase();
  const sql = createDb({ url: db.url, max: 2 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-outage-run-'));
  try {
    await migrate(sql);
    const videos = new VideoRepository(sql);
    const upload = {
      ...{ uploadId: 'u1', title: 'interrupted', description: '', originalFilename: null, uploaderId: 'u' },
      ...{ sourceKey: 'upload1', sourceSizeBytes: text.length },
    };
    const { id } = await videos.createFromUpload(upload);
    await mkdir(path.join(dir, 'uploads'));
    const source = path.join(dir, 'uploads', 'upload1');
    await writeFile(source, text);
    await writeFile(`${source}.json`, '{}');
    await test({ videos, id, dir, source });
  } finally {
    await sql.end();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** prepareMaster as a worker runs it, with no clamd at the socket: a verdict must come from the row, not a scan. */
const prepareWithoutClamd = (f: { videos: VideoRepository; id: string; dir: string; source: string }) =>
  prepareMaster(f.id, f.source, {
    videos: f.videos,
    clamd: { socket: path.join(f.dir, 'no-clamd.sock') },
    ffmpegPath: 'ffmpeg',
    ffprobePath: 'ffprobe',
    quarantineDir: path.join(f.dir, 'quarantine'),
    mastersDir: path.join(f.dir, 'masters'),
    maxDurationSec: 60,
    logger: { info: () => undefined, warn: () => undefined },
  });

describe('a run interrupted by an outage picks up where it stopped', () => {
  it('an infected verdict recorded before the quarantine move: the next run finishes the move, scanning nothing', () =>
    withUploadedVideo('evil', async (f) => {
      const quarantined = path.join(f.dir, 'quarantine', `${f.id}-upload1`);
      await f.videos.markInfected(f.id, { signature: 'Eicar-Test', sha256: 'a'.repeat(64), quarantinePath: quarantined });
      expect(await rejection(prepareWithoutClamd(f))).toMatchObject({ code: 'INGEST_INFECTED' });
      expect(await readFile(quarantined, 'utf8')).toBe('evil');
      await expect(access(f.source)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(access(`${f.source}.json`)).rejects.toMatchObject({ code: 'ENOENT' });
    }));

  it('a master recorded but the upload not yet deleted (a run that died in between): the next run deletes the upload', () =>
    withUploadedVideo('raw with gps', async (f) => {
      const key = `${f.id}/master.mp4`;
      await mkdir(path.join(f.dir, 'masters', f.id), { recursive: true });
      await writeFile(path.join(f.dir, 'masters', key), 'stripped');
      await f.videos.recordStrippedMaster(f.id, { key, sha256: 'b'.repeat(64), sizeBytes: 8 });
      // The kept master was scanned before it was recorded: nothing is scanned again, the raw upload goes.
      expect((await (await prepareWithoutClamd(f)).master).path).toBe(path.join(f.dir, 'masters', key));
      await expect(access(f.source)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(access(`${f.source}.json`)).rejects.toMatchObject({ code: 'ENOENT' });
    }));
});

/** Video row and job state as the tests below look at them. */
async function settled(sql: postgres.Sql, id: string): Promise<VideoRow> {
  return waitFor(
    async () => {
      const [r] = await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${id}`;
      return r && ['ready', 'failed', 'rejected', 'infected'].includes(r.status) ? r : undefined;
    },
    { timeoutMs: 90_000, what: `video ${id} settled` },
  );
}

function waitsFor(queue: Queue<TranscodeJobData>, id: string, dependency: string, count: number): Promise<unknown> {
  return waitFor(
    async () => {
      const j = await queue.getJob(id);
      return j?.data.wait?.dependency === dependency && j.data.wait.count >= count ? j : undefined;
    },
    { timeoutMs: 30_000, what: `${count + 1} waits for ${dependency}` },
  );
}

describe('dependency outages delay the job without spending its one attempt', () => {
  let tmp: string;
  let clip: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-outage-'));
    clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 2, width: 160, height: 90 });
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('PostgreSQL away from the worker: the job waits (no row can be written), then finishes', async () => {
    const api = await startTestApp({ roles: ['api'], env: { LOG_LEVEL: 'silent' } });
    const dbUrl = new URL(api.db.url);
    const proxy: TcpProxy = await startTcpProxy({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
    dbUrl.port = String(proxy.port);
    const worker = await startTestApp({
      roles: ['worker'],
      env: { ...FAST_WAITS, DATABASE_URL: dbUrl.toString(), QUEUE_PREFIX: api.config.queuePrefix, DATA_DIR: api.dataDir },
    });
    const sql = postgres(api.db.url, { max: 1, onnotice: () => {} });
    const queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
      connection: redisConnection(api.config.redisUrl),
      prefix: api.config.queuePrefix,
    });
    try {
      await proxy.cut();
      const { videoId } = await tusUpload(`${api.url}/uploads`, clip, { title: 'waits for postgres' });
      await waitsFor(queue, videoId, 'database', 2);
      expect((await queue.getJob(videoId))!.attemptsMade).toBe(0);
      await proxy.restore();
      const v = await settled(sql, videoId);
      expect(v).toMatchObject({ status: 'ready', waiting_for: null });
      expect((await queue.getJob(videoId))!.attemptsMade).toBe(1);
    } finally {
      await queue.close();
      await sql.end();
      await proxy.restore();
      await worker.close();
      await proxy.close();
      await api.close();
    }
  });

  it('the publish store away: the row says waiting for storage, and the video is published once it is back', async () => {
    const s3: RunningS3rver = await startS3rver(['publish']);
    const s3Url = new URL(s3.endpoint);
    const proxy = await startTcpProxy({ host: s3Url.hostname, port: Number(s3Url.port) });
    const t: TestApp = await startTestApp({
      env: {
        ...FAST_WAITS,
        STORAGE_DRIVER: 's3',
        S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
        S3_BUCKET: 'publish',
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
      },
    });
    const sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
    const queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
      connection: redisConnection(t.config.redisUrl),
      prefix: t.config.queuePrefix,
    });
    try {
      // With STORAGE_DRIVER=s3 the finished upload itself goes to the bucket (for workers on other hosts), so the store
      // is cut once the upload is in: whichever bucket step the job is at (fetch, master, publish), it waits.
      const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { title: 'waits for storage' });
      await proxy.cut();
      await waitsFor(queue, videoId, 'storage', 1);
      const row = await waitFor(
        async () => {
          const [r] = await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${videoId}`;
          return r?.stage === 'waiting' ? r : undefined;
        },
        { timeoutMs: 10_000, what: 'row says waiting' },
      );
      expect(row).toMatchObject({ status: 'processing', waiting_for: 'storage' });
      await proxy.restore();
      const v = await settled(sql, videoId);
      expect(v).toMatchObject({ status: 'ready', waiting_for: null, waiting_since: null });
      expect((await queue.getJob(videoId))!.attemptsMade).toBe(1);
    } finally {
      await queue.close();
      await sql.end();
      await proxy.restore();
      await t.close();
      await proxy.close();
      await s3.close();
    }
  });
});
