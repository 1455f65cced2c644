import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { createMetrics } from '../../core/metrics.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { VideoAdminRepository } from '../../db/video-admin.ts';
import { VideoRepository } from '../../db/videos.ts';
import { TusIngest } from '../../ingest/tus.ts';
import { UploadTokens } from '../../ingest/upload-token.ts';
import { createReadinessChecks } from '../../ops/readiness.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TEST_JWT_SECRET, TEST_PLAYBACK_KEY, tokenFor } from '../../test/helpers/auth.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { createTokenVerifier } from '../auth.ts';
import { PlaybackSigner } from '../playback/signing.ts';
import { buildApi } from '../server.ts';
import { call, codeOf } from './http.ts';
import { seedVideo } from '../../test/helpers/seed.ts';

/** A port nothing listens on: bind port 0, note it, close it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('observability: metrics, health, readiness', () => {
  let t: TestApp;
  let tmp: string;
  let uploadedId: string;

  beforeAll(async () => {
    // API only: an upload's transcode job stays queued, so queue depth is deterministic.
    t = await startTestApp({ roles: ['api'] });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-ops-'));
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('exports queue depth, jobs by state, upload bytes and the pipeline histograms at /metrics', async () => {
    const file = path.join(tmp, 'up.bin');
    await writeFile(file, videoLikeBytes(5000));
    uploadedId = (await tusUpload(`${t.url}/uploads`, file, { filename: 'up.bin', title: 'metrics' })).videoId;
    t.app.metrics.scanResults.inc({ result: 'clean' });
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^kidstream_queue_depth\{queue="transcode"\} 1$/m);
    expect(text).toMatch(/^kidstream_queue_depth\{queue="webhook"\} 0$/m);
    expect(text).toMatch(/^kidstream_queue_jobs\{queue="transcode",state="waiting"\} 1$/m);
    expect(text).toMatch(/^kidstream_queue_jobs\{queue="transcode",state="active"\} 0$/m);
    expect(text).toMatch(/^kidstream_upload_bytes_total 5000$/m);
    expect(text).toMatch(/^kidstream_scan_results_total\{result="clean"\} 1$/m);
    expect(text).toContain('# TYPE kidstream_transcode_seconds histogram');
    expect(text).toContain('# TYPE kidstream_transcode_realtime_factor histogram');
    expect(text).toMatch(/^kidstream_http_responses_total\{method="PATCH",route="\/uploads\/\*",status="204"\} \d+$/m);
    expect(text).toContain('kidstream_process_cpu_seconds_total');
  });

  it('deleting a queued video removes its transcode job and its staged upload files', async () => {
    expect((await readdir(t.config.uploadDir)).length).toBeGreaterThan(0);
    const r = await call(t.url, 'DELETE', `/api/videos/${uploadedId}`, { token: await tokenFor('root', 'admin') });
    expect(r.status).toBe(200);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/^kidstream_queue_depth\{queue="transcode"\} 0$/m);
    expect(await readdir(t.config.uploadDir)).toEqual([]);
  });

  it('answers /healthz and a /readyz that checks Postgres, Redis, ffmpeg, storage, disk (clamd skipped when unset)', async () => {
    expect((await call(t.url, 'GET', '/healthz')).body).toEqual({ ok: true });
    const r = await call<{ status: string; checks: Record<string, { status: string }> }>(t.url, 'GET', '/readyz');
    expect(r.status).toBe(200);
    expect(Object.fromEntries(Object.entries(r.body.checks).map(([k, v]) => [k, v.status]))).toEqual({
      postgres: 'ok',
      redis: 'ok',
      clamd: 'skipped',
      ffmpeg: 'ok',
      storage: 'ok',
      disk: 'ok',
    });
  });
});

describe('clamd readiness against a real clamd', () => {
  it('answers PONG over a unix socket (clamd with a one-signature database, started for this test)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-clamd-'));
    const sock = path.join(dir, 'clamd.sock');
    // The EICAR md5 signature: clamd needs at least one signature to start, and freshclam has no network here.
    await writeFile(path.join(dir, 'test.hdb'), '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n');
    await writeFile(
      path.join(dir, 'clamd.conf'),
      [
        `LocalSocket ${sock}`,
        `DatabaseDirectory ${dir}`,
        'Foreground yes',
        `LogFile ${path.join(dir, 'clamd.log')}`,
        `PidFile ${path.join(dir, 'clamd.pid')}`,
        '',
      ].join('\n'),
    );
    const clamd = spawn('clamd', ['-c', path.join(dir, 'clamd.conf')], { stdio: 'ignore' });
    const sql = createDb({ url: 'postgres://127.0.0.1:1/none', max: 1 });
    try {
      for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
      const { checks, close } = createReadinessChecks({
        sql,
        redisUrl: 'redis://127.0.0.1:1',
        clamd: { socket: sock },
        ffmpegPath: 'ffmpeg',
        storage: new LocalDiskStorage({ root: dir }),
        timeoutMs: 2000,
      });
      const check = checks.find((c) => c.name === 'clamd')!;
      expect(check.run).not.toBe('skipped');
      await expect((check.run as () => Promise<void>)()).resolves.toBeUndefined();
      await close();
    } finally {
      clamd.kill('SIGTERM');
      if (clamd.exitCode === null) await once(clamd, 'exit');
      await sql.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('API built directly: readiness failures, request ids, logs, rate limits, archive deletion', () => {
  let t: TestApp;
  let sql: Sql;
  let api: FastifyInstance;
  let base: string;
  let closeChecks: () => Promise<void>;
  const logLines: Array<Record<string, unknown>> = [];
  const archived: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = createDb({ url: t.db.url, max: 2 });
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    const readiness = createReadinessChecks({
      sql,
      redisUrl: `redis://127.0.0.1:${await closedPort()}`,
      clamd: { host: '127.0.0.1', port: await closedPort() },
      ffmpegPath: 'ffmpeg',
      storage,
      timeoutMs: 1000,
    });
    closeChecks = readiness.close;
    const videos = new VideoRepository(sql);
    const uploadTokens = new UploadTokens({ secret: 'x'.repeat(32), ttlSec: 60 });
    api = await buildApi({
      logger,
      videos,
      admin: new VideoAdminRepository(sql),
      storage,
      playerDir: path.join(tmp0(), 'none'),
      uploadTokens,
      tus: new TusIngest({
        uploadDir: t.config.uploadDir,
        path: '/uploads',
        maxSize: 1e6,
        tokens: uploadTokens,
        expirationMs: 3600_000,
        logger,
        onFinished: async () => ({ videoId: 'x', created: true }),
      }),
      verifier: createTokenVerifier({ secret: TEST_JWT_SECRET }),
      signer: new PlaybackSigner({ key: TEST_PLAYBACK_KEY, ttlSec: 60 }),
      metrics: createMetrics({ processMetrics: false }),
      readiness: readiness.checks,
      rateLimit: { max: 4, windowMs: 60_000 },
      archive: {
        delete: async (id) => {
          archived.push(id);
        },
      },
    });
    base = await api.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await api?.close();
    await closeChecks?.();
    await sql?.end();
    await t?.close();
  });

  it('fails /readyz with 503 when Redis and clamd do not answer, naming each failed check', async () => {
    const r = await call<{ status: string; checks: Record<string, { status: string; error?: string }> }>(base, 'GET', '/readyz');
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('fail');
    expect(r.body.checks['redis']!.status).toBe('fail');
    expect(r.body.checks['clamd']!.status).toBe('fail');
    expect(r.body.checks['postgres']!.status).toBe('ok');
    expect(r.body.checks['ffmpeg']!.status).toBe('ok');
  });

  it('echoes or generates request ids and logs JSON lines carrying them', async () => {
    const given = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'trace-abc' } });
    expect(given.headers.get('x-request-id')).toBe('trace-abc');
    const generated = await fetch(`${base}/healthz`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const lines = logLines.filter((l) => l['reqId'] === 'trace-abc');
    expect(lines.map((l) => l['msg'])).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
  });

  it('serves a favicon that every page links', async () => {
    const res = await fetch(`${t.url}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(await res.text()).toMatch(/^<svg /);
    for (const page of ['/', '/upload', '/moderate', '/embed'])
      expect(await (await fetch(`${t.url}${page}`)).text()).toContain('rel="icon" href="/favicon.ico"');
  });

  it('deletes the archive copy only with ?archive=true when an archive is configured', async () => {
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    const id = await seedVideo(sql, storage, { uploaderId: 'owner' });
    const r = await call(base, 'DELETE', `/api/videos/${id}?archive=true`, { token: await tokenFor('root', 'admin') });
    expect(r.body).toMatchObject({ deleted: true, archiveDeleted: true });
    expect(archived).toEqual([id]);
  });

  it('rate-limits with 429 API_RATE_LIMITED once the per-client budget is spent', async () => {
    const token = await tokenFor('u', 'uploader');
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await call(base, 'GET', '/api/videos', { token });
      statuses.push(last.status);
    }
    expect(statuses).toContain(429);
    expect(codeOf(last!)).toBe('API_RATE_LIMITED');
    expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await call(base, 'GET', '/healthz')).status).toBe(200); // probes are never limited
  });
});

function tmp0(): string {
  return os.tmpdir();
}
