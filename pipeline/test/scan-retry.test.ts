import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../core/types.ts';
import type { VideoRow } from '../../db/videos.ts';
import { redisConnection } from '../redis.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
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
  let queue: Queue;

  beforeAll(async () => {
    clamdDir = await mkdtemp(path.join(os.tmpdir(), 'ks-clamd-late-'));
    socket = path.join(clamdDir, 'clamd.sock');
    t = await startTestApp({ env: { CLAMD_SOCKET: socket } });
    sql = postgres(t.db.url, { max: 1, onnotice: () => {} });
    queue = new Queue(QUEUE_NAMES.transcode, { connection: redisConnection(t.config.redisUrl), prefix: t.config.queuePrefix });
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

  it('the job retries with backoff and the video is not transcoded until clamd answers', async () => {
    const clip = await makeClip({ out: path.join(clamdDir, 'clip.mp4'), durationSec: 2, width: 160, height: 90 });
    const { videoId } = await tusUpload(`${t.url}/uploads`, clip, { title: 'waits for clamd' });
    const job = await waitFor(
      async () => {
        const j = await queue.getJob(videoId);
        return j && j.attemptsMade >= 1 ? j : undefined;
      },
      { timeoutMs: 30_000, what: 'first failed attempt' },
    );
    expect(job.failedReason).toContain('INGEST_SCAN_UNAVAILABLE');
    const [waiting] = await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${videoId}`;
    expect(waiting).toMatchObject({ status: 'processing', stage: 'scan', scan_result: null, stripped_master_key: null });
    expect(await queue.getJobState(videoId)).toBe('delayed');

    clamd = await startClamd({ socket, dir: clamdDir });
    const v = await waitFor(
      async () => {
        const [r] = await sql<VideoRow[]>`SELECT * FROM videos WHERE id = ${videoId}`;
        return r && ['ready', 'failed', 'rejected', 'infected'].includes(r.status) ? r : undefined;
      },
      { timeoutMs: 60_000, what: 'video settled after clamd came up' },
    );
    expect(v).toMatchObject({ status: 'ready', scan_result: 'clean' });
    expect((await queue.getJob(videoId))!.attemptsMade).toBeGreaterThanOrEqual(1);
  });
});
