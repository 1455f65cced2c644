import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.ts';
import { makeClip } from '../helpers/media.ts';
import { fetchUploadToken, tusUpload, type UploadResult } from '../helpers/tus-upload.ts';
import { sha256File, startDeployment, type Deployment } from './deployment.ts';

const run = async (cmd: string, args: string[]): Promise<void> => {
  const { execFile } = await import('node:child_process');
  await new Promise<void>((res, rej) => execFile(cmd, args, (e) => (e ? rej(e) : res())));
};

describe('faults: Redis, PostgreSQL and clamd outages delay work instead of failing it', () => {
  let d: Deployment;
  let tmp: string;
  let clips: string[];
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-fault-out-'));
    // Few attempts and short backoffs: an outage that spent attempts would end the videos failed within seconds.
    d = await startDeployment({ TRANSCODE_ATTEMPTS: '2', RECONCILE_INTERVAL_SEC: '2' });
    clips = await Promise.all(
      [0, 1, 2, 3].map((i) => makeClip({ out: path.join(tmp, `c${i}.mp4`), durationSec: 3 + i, width: 320, height: 180 })),
    );
  });
  afterAll(async () => {
    await d?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('Redis wiped of every key mid-run: every video still reaches ready, and the sha256 matches the upload', async () => {
    const ups: UploadResult[] = [];
    for (const c of clips) ups.push(await tusUpload(`${d.url}/uploads`, c, { title: path.basename(c) }, { uploaderId: 'fault-redis' }));
    await waitFor(async () => ((await d.video(ups[0]!.videoId)).status === 'processing' ? true : undefined), {
      timeoutMs: 60_000,
      what: 'first video processing',
    });
    await run('redis-cli', ['-p', String(d.redis.port), 'FLUSHALL']);
    await d.worker.waitForLog((l) => String(l.msg).startsWith('reconciler re-queued'), 'the reconciler to repair a lost job');
    for (const [i, up] of ups.entries()) {
      const v = await d.settled(up.videoId);
      expect(v.status, up.videoId).toBe('ready');
      const [row] = await d.query<{ source_sha256: string }>('SELECT source_sha256 FROM videos WHERE id = $1', [up.videoId]);
      expect(row?.source_sha256).toBe(await sha256File(clips[i]!));
    }
    expect(await d.unreferencedFiles()).toEqual([]);
  });

  it('Redis restarted while videos wait for a worker: they reach ready', async () => {
    await d.worker.kill('SIGTERM'); // keep the jobs waiting until Redis has restarted
    const ups: UploadResult[] = [];
    for (const c of clips.slice(0, 2)) ups.push(await tusUpload(`${d.url}/uploads`, c, { title: 'wait' }, { uploaderId: 'fault-redis' }));
    await d.redis.stop();
    await d.redis.start();
    d.worker = await (await import('../helpers/processes.ts')).startService('worker', d.env);
    for (const up of ups) expect((await d.settled(up.videoId)).status).toBe('ready');
  });

  it('PostgreSQL down when the last byte arrives: the upload still becomes a video with its id', async () => {
    const clip = clips[1]!;
    const bytes = await readFile(clip);
    const token = await fetchUploadToken(d.url, 'fault-pg');
    const meta = `title ${Buffer.from('pg outage').toString('base64')}`;
    const create = await fetch(`${d.url}/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': String(bytes.length), 'upload-token': token, 'upload-metadata': meta },
    });
    expect(create.status).toBe(201);
    const loc = new URL(create.headers.get('location')!, d.url).toString();
    const patch = (from: number, to: number) =>
      fetch(loc, {
        method: 'PATCH',
        body: bytes.subarray(from, to),
        headers: { 'tus-resumable': '1.0.0', 'upload-offset': String(from), 'content-type': 'application/offset+octet-stream' },
      });
    expect((await patch(0, bytes.length - 1)).status).toBe(204);
    await d.pg.stop();
    const last = await patch(bytes.length - 1, bytes.length);
    // Either the finish was recorded durably (204 with the id) or the client is told to retry (5xx, JSON).
    if (last.status !== 204) {
      // 423 INGEST_FINISH_PENDING: tus-js-client keeps the upload URL and asks again with HEAD.
      expect(last.status).toBe(423);
      expect((await last.json()) as unknown).toMatchObject({ error: { code: expect.any(String) } });
    }
    await d.pg.start();
    // What tus-js-client does on resume: HEAD, then PATCH whatever is missing, until the server hands out the id.
    const videoId = await waitFor(
      async () => {
        const head = await fetch(loc, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
        const offset = Number(head.headers.get('upload-offset'));
        if (head.ok && offset < bytes.length) await patch(offset, bytes.length);
        return head.ok && offset === bytes.length ? (head.headers.get('video-id') ?? undefined) : undefined;
      },
      { timeoutMs: 60_000, what: 'the Video-Id after the outage', intervalMs: 500 },
    );
    expect((await d.settled(videoId)).status).toBe('ready');
  });

  it('PostgreSQL down mid-transcode: the job waits without spending its attempts, and the video reaches ready', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'pg-mid.mp4'), durationSec: 12, width: 640, height: 360 });
    const up = await tusUpload(`${d.url}/uploads`, clip, { title: 'pg mid' }, { uploaderId: 'fault-pg' });
    await waitFor(async () => ((await d.video(up.videoId)).stage === 'transcode' ? true : undefined), {
      timeoutMs: 60_000,
      what: 'transcode',
    });
    await d.pg.stop();
    // Two attempts would be gone after two failures; the worker must log waits for the database instead.
    const waits = (): number => d.worker.logs.filter((l) => l['dependency'] === 'database').length;
    await waitFor(async () => (waits() >= 1 ? true : undefined), { timeoutMs: 90_000, what: 'a logged wait for the database' });
    await d.pg.start();
    const v = await d.settled(up.videoId);
    expect(v.status).toBe('ready');
    const [row] = await d.query<{ source_sha256: string }>('SELECT source_sha256 FROM videos WHERE id = $1', [up.videoId]);
    expect(row?.source_sha256).toBe(await sha256File(clip));
    expect(await d.unreferencedFiles()).toEqual([]);
  });

  it('clamd down longer than all attempts would last: uploads wait (and say so), then scan and reach ready', async () => {
    await d.clamd.stop();
    const ups: UploadResult[] = [];
    for (const c of clips.slice(0, 2))
      ups.push(await tusUpload(`${d.url}/uploads`, c, { title: 'scan later' }, { uploaderId: 'fault-clamd' }));
    for (const up of ups) {
      const waiting = await waitFor(
        async () => {
          const v = await d.video(up.videoId);
          return v.waiting?.for === 'clamd' ? v : undefined;
        },
        { timeoutMs: 60_000, what: 'the video to say it waits for clamd' },
      );
      expect(waiting).toMatchObject({ status: 'processing', stage: 'waiting' });
    }
    // More waits than TRANSCODE_ATTEMPTS=2 would allow, each one logged, and no attempt spent on them.
    const waits = (): number =>
      d.worker.logs.filter((l) => l['dependency'] === 'clamd' && String(l.msg).startsWith('dependency unavailable')).length;
    await waitFor(async () => (waits() >= 3 ? true : undefined), { timeoutMs: 60_000, what: 'three logged waits for clamd' });
    for (const up of ups) expect((await d.video(up.videoId)).status).toBe('processing');
    await d.restartClamd();
    for (const up of ups) expect((await d.settled(up.videoId)).status).toBe('ready');
    expect(await d.unreferencedFiles()).toEqual([]);
  });
});
