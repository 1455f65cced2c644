import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, type TranscodeJobData } from '../../core/types.ts';
import type { VideoRow } from '../../db/videos.ts';
import { redisConnection } from '../redis.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { bearer, tokenFor } from '../../test/helpers/auth.ts';
import { startClamd, type TestClamd } from '../../test/helpers/clamd.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { scanFile } from '../../ingest/scan.ts';

describe('clamd unreachable', () => {
  let t: TestApp;
  let clamdDir: string;
  let socket: string;
  let clamd: TestClamd | undefined;
  let sql: postgres.Sql;
  let queue: Queue<TranscodeJobData>;

  beforeAll(async () => {
    clamdDir = await mkdtemp(path.join(os.tmpdir(), 'ks-clamd-late-'));
    socket = path.join(clamdDir, 'clamd.sock');
    // One attempt only: waiting for clamd must not spend it. Short backoff so the test sees several waits quickly.
    t = await startTestApp({
      env: { CLAMD_SOCKET: socket, TRANSCODE_ATTEMPTS: '1', DEPENDENCY_BACKOFF_MS: '200', DEPENDENCY_BACKOFF_MAX_MS: '1000' },
    });
    sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
    queue = new Queue<TranscodeJobData>(QUEUE_NAMES.transcode, {
      connection: redisConnection(t.config.redisUrl),
      prefix: t.config.queuePrefix,
    });
  });
  afterAll(async () => {
    await queue?.close();
    await sql?.end();
    await t?.close();
    await clamd?.stop();
    await rm(clamdDir, { recursive: true, force: true });
  });

  it('scanFile fails with INGEST_SCAN_UNAVAILABLE, never with a verdict', async () => {
    await expect(scanFile(fileURLToPath(import.meta.url), { socket })).rejects.toMatchObject({ code: 'INGEST_SCAN_UNAVAILABLE' });
    await expect(scanFile(fileURLToPath(import.meta.url), { host: '127.0.0.1', port: 1 })).rejects.toMatchObject({
      code: 'INGEST_SCAN_UNAVAILABLE',
    });
  });

  it('the job waits for clamd without spending an attempt, the video says so, and it is scanned once clamd is up', async () => {
    const clip = await makeClip({ out: path.join(clamdDir, 'clip.mp4'), durationSec: 2, width: 160, height: 90 });
    const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { title: 'waits for clamd' });
    // Three waits in a row with a single attempt configured: an outage is not a failure.
    const job = await waitFor(
      async () => {
        const j = await queue.getJob(videoId);
        return j && (j.data.wait?.count ?? -1) >= 2 ? j : undefined;
      },
      { timeoutMs: 30_000, what: 'three waits for clamd' },
    );
    expect(job.attemptsMade).toBe(0);
    expect(job.data.wait?.dependency).toBe('clamd');
    const waiting = await waitFor(
      async () => {
        const [r] = await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${videoId}`;
        return r?.stage === 'waiting' ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'row says waiting' },
    );
    expect(waiting).toMatchObject({ status: 'processing', waiting_for: 'clamd', scan_result: null, stripped_master_key: null });
    expect(waiting.waiting_since!.getTime()).toBe(job.data.wait!.since);
    const res = await fetch(`${t.url}/api/videos/${videoId}`, { headers: bearer(await tokenFor('test-uploader', 'uploader')) });
    const view = (await res.json()) as { status: string; waiting: { for: string; since: string } | null };
    expect(view.waiting?.for).toBe('clamd');
    expect(view.waiting?.since).toBe(waiting.waiting_since!.toISOString());

    clamd = await startClamd({ socket, dir: clamdDir });
    const v = await waitFor(
      async () => {
        const [r] = await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${videoId}`;
        return r && ['ready', 'failed', 'rejected', 'infected'].includes(r.status) ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'video settled after clamd came up' },
    );
    expect(v).toMatchObject({ status: 'ready', scan_result: 'clean', waiting_for: null, waiting_since: null });
    // BullMQ counts the successful run as an attempt: it was the only one (TRANSCODE_ATTEMPTS=1 would allow no other).
    const done = (await queue.getJob(videoId))!;
    expect(done.attemptsMade).toBe(1);
    expect(done.attemptsStarted).toBeGreaterThanOrEqual(4);
  });
});
