import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, type RunningS3rver } from '../bench/s3rver-server.ts';
import { createDb, type Sql } from '../db/client.ts';
import { VideoRepository } from '../db/videos.ts';
import { CHUNK_QUEUE } from '../pipeline/chunked.ts';
import { createTranscodeQueue } from '../pipeline/queue.ts';
import { redisConnection } from '../pipeline/redis.ts';
import { storyboardInterval, storyboardTiles } from '../packager/storyboard.ts';
import { incomingKey, quarantineKey } from '../pipeline/sources.ts';
import { S3Storage } from '../storage/s3.ts';
import { deleteQueueKeys, listFiles, waitFor } from './helpers/app.ts';
import { bearer, TEST_JWT_SECRET, TEST_PLAYBACK_KEY, tokenFor } from './helpers/auth.ts';
import { startClamd, type TestClamd } from './helpers/clamd.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { TEST_REDIS_URL } from './helpers/env.ts';
import { makeClip } from './helpers/media.ts';
import { hiddenFrom, startService, type ServiceProcess } from './helpers/processes.ts';
import { tusUpload } from './helpers/tus-upload.ts';

const BUCKET = 'kidstream-scale';
const PREFIX = `ksscale${process.pid}`;

/** Whether this machine lets us cover a directory in a private mount namespace (root, unshare and mount allowed). */
function canHide(dir: string): boolean {
  const r = spawnSync(hiddenFrom([dir], ['true'])[0]!, hiddenFrom([dir], ['true']).slice(1), { stdio: 'ignore' });
  return r.status === 0;
}

interface VideoJson {
  readonly status: string;
  readonly stage: string | null;
  readonly error: { code: string } | null;
  readonly playback: { url: string; posterUrl: string | null; storyboardUrl: string | null } | null;
  readonly previewableAt: string | null;
  readonly readyAt: string | null;
}

const probeDir = await mkdtemp(path.join(os.tmpdir(), 'ks-scale-probe-'));
const hideable = canHide(probeDir);
await rm(probeDir, { recursive: true, force: true });

/**
 * Scale-out without a shared disk: one API and two workers of the real service, each with its own DATA_DIR, each
 * worker in a mount namespace where the other processes' data dirs are empty tmpfs mounts, so everything a worker
 * needs must come through Redis, PostgreSQL and the one bucket.
 */
describe.skipIf(!hideable)('scale-out: API and two workers with no shared filesystem (STORAGE_DRIVER=s3)', () => {
  let s3: RunningS3rver;
  let db: TestDatabase;
  let sql: Sql;
  let clamd: TestClamd;
  let tmp: string;
  let bucket: S3Storage;
  let api: ServiceProcess;
  const workers: ServiceProcess[] = [];
  const dataDirs: Record<'api' | 'w1' | 'w2', string> = { api: '', w1: '', w2: '' };
  let env: Record<string, string>;
  let mod: Record<string, string>;
  let flagged: string;

  const startWorker = async (name: 'w1' | 'w2'): Promise<ServiceProcess> => {
    const others = (['api', 'w1', 'w2'] as const).filter((n) => n !== name).map((n) => dataDirs[n]);
    return startService('worker', { ...env, DATA_DIR: dataDirs[name] }, 120_000, { hide: others });
  };
  const video = async (id: string): Promise<VideoJson> =>
    (await (await fetch(`${api.url}/api/videos/${id}`, { headers: mod })).json()) as VideoJson;
  const settled = (id: string): Promise<VideoJson> =>
    waitFor(
      async () => {
        const v = await video(id).catch(() => undefined);
        return v && ['ready', 'failed', 'rejected', 'infected'].includes(v.status) ? v : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 500, what: `video ${id} to settle` },
    );

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-scale-'));
    for (const n of ['api', 'w1', 'w2'] as const) {
      dataDirs[n] = path.join(tmp, `data-${n}`);
      await mkdir(dataDirs[n], { recursive: true });
    }
    [s3, db] = await Promise.all([startS3rver([BUCKET]), createTestDatabase()]);
    sql = createDb({ url: db.url, max: 2 });
    bucket = await S3Storage.create({ endpoint: s3.endpoint, bucket: BUCKET, accessKey: s3.accessKey, secretKey: s3.secretKey });
    const clamdDir = path.join(tmp, 'clamd');
    await mkdir(clamdDir);
    // A real video clamd is taught to flag (EICAR is not a video and would be rejected before the verdict matters).
    flagged = await makeClip({ out: path.join(tmp, 'flagged.mp4'), durationSec: 2, width: 320, height: 240 });
    await writeFile(path.join(clamdDir, 'video.hdb'), execFileSync('sigtool', ['--md5', flagged]));
    clamd = await startClamd({ socket: path.join(clamdDir, 'clamd.sock'), dir: clamdDir });
    await deleteQueueKeys(TEST_REDIS_URL, PREFIX);
    env = {
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: PREFIX,
      CLAMD_SOCKET: path.join(clamdDir, 'clamd.sock'),
      JWT_SECRET: TEST_JWT_SECRET,
      PLAYBACK_SIGNING_KEY: TEST_PLAYBACK_KEY,
      UPLOAD_TOKEN_SECRET: 'scale-out-upload-token-secret-0123456789',
      LOG_LEVEL: 'info',
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      FFMPEG_THREADS: '1',
      WORKER_CONCURRENCY: '1',
      TRANSCODE_ATTEMPTS: '3',
      TRANSCODE_BACKOFF_MS: '300',
      // Short enough that a SIGKILLed worker's job is taken over within seconds, long enough for a busy 2-core box.
      JOB_LOCK_MS: '5000',
      JOB_STALLED_INTERVAL_MS: '1000',
      JOB_MAX_STALLED: '3',
      // Sources of 30 s and more are encoded in 6 s chunks (one segment each): the long-video test below.
      CHUNK_SECONDS: '6',
      CHUNK_MIN_SOURCE_SEC: '30',
    };
    api = await startService('api', { ...env, DATA_DIR: dataDirs.api }, 120_000);
    workers.push(await startWorker('w1'), await startWorker('w2'));
    mod = bearer(await tokenFor('scale-mod', 'moderator', { ttlSec: 3600 }));
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled([api?.kill('SIGKILL'), ...workers.map((w) => w.kill('SIGKILL'))]);
    await sql?.end({ timeout: 5 });
    await Promise.allSettled([bucket?.close(), s3?.close(), clamd?.stop(), db?.drop(), deleteQueueKeys(TEST_REDIS_URL, PREFIX)]);
    await rm(tmp, { recursive: true, force: true });
  });

  let readyId = '';

  it('a tus upload on the API host is transcoded by a worker that cannot see its disk, and plays through the API', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 4, width: 640, height: 360 });
    const up = await tusUpload(`${api.url}/uploads`, clip, { filename: 'clip.mp4', title: 'Scale-out clip' });
    readyId = up.videoId;
    const v = await settled(up.videoId);
    expect(v.status).toBe('ready');
    const master = await fetch(`${api.url}${v.playback!.url}`);
    expect(master.status).toBe(200);
    const text = await master.text();
    const playlists = [
      ...text.split('\n').filter((l) => l && !l.startsWith('#')),
      ...[...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!),
    ];
    expect(playlists.length).toBeGreaterThanOrEqual(3);
    for (const uri of playlists) {
      const plUrl = new URL(uri, master.url).toString();
      const pl = await fetch(plUrl);
      expect(pl.status).toBe(200);
      const segment = (await pl.text()).split('\n').find((l) => l && !l.startsWith('#'));
      const seg = await fetch(new URL(segment!, plUrl));
      expect(seg.status).toBe(200);
      expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    // The raw upload left the bucket once the master was recorded; the API host kept no copy; workers kept no temp files.
    expect(await bucket.list(`incoming/${up.videoId}/`)).toEqual([]);
    expect(await bucket.list(`masters/${up.videoId}/`)).toHaveLength(1);
    expect(await readdir(path.join(dataDirs.api, 'uploads'))).toEqual([]);
    for (const n of ['w1', 'w2'] as const) expect(await listFiles(path.join(dataDirs[n], 'work'))).toEqual([]);
  });

  it('masters and raw uploads are not reachable through any playback or object route', async () => {
    const v = await video(readyId);
    const sig = new URL(`${api.url}${v.playback!.url}`).searchParams.get('sig')!;
    const [masterKey] = await bucket.list(`masters/${readyId}/`);
    const attempts = [
      `/hls/${readyId}/..%2F..%2F${masterKey!.replace(/\//g, '%2F')}`,
      `/hls/${readyId}/%2e%2e/%2e%2e/${masterKey}`,
      `/hls/${readyId}/master.mp4`,
      `/hls/${readyId}/upload`,
      `/objects/archive/${masterKey}`,
      `/objects/${masterKey}`,
      `/${masterKey}`,
      `/${incomingKey(readyId)}`,
      `/masters/${readyId}/master.mp4`,
    ];
    for (const p of attempts) {
      const res = await fetch(`${api.url}${p}${p.includes('?') ? '&' : '?'}sig=${encodeURIComponent(sig)}`, { headers: mod });
      expect({ p, status: res.status }).not.toEqual({ p, status: 200 });
      expect([200, 206]).not.toContain(res.status);
    }
  });

  it('a worker SIGKILLed mid-encode: the other worker finishes the video; the restarted one removes its stale temp dir', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'long.mp4'), durationSec: 20, width: 640, height: 360 });
    const up = await tusUpload(`${api.url}/uploads`, clip, { filename: 'long.mp4', title: 'Crash me' });
    await waitFor(async () => ((await video(up.videoId)).stage === 'transcode' ? true : undefined), {
      timeoutMs: 120_000,
      what: 'transcode to start',
    });
    const holder = workers.findIndex((w) => w.logs.some((l) => l['videoId'] === up.videoId && l.msg === 'transcode job started'));
    expect(holder).toBeGreaterThanOrEqual(0);
    const name = holder === 0 ? 'w1' : 'w2';
    await workers[holder]!.kill('SIGKILL');
    // The dead worker's temp dirs are still on its own disk.
    expect((await readdir(path.join(dataDirs[name], 'work'))).length).toBeGreaterThan(0);
    const v = await settled(up.videoId);
    expect(v.status).toBe('ready');
    const survivor = workers[1 - holder]!;
    expect(survivor.logs.some((l) => l['videoId'] === up.videoId && l.msg === 'video ready')).toBe(true);
    workers[holder] = await startWorker(name);
    expect(await readdir(path.join(dataDirs[name], 'work'))).toEqual([]);
    expect(await bucket.list(`incoming/${up.videoId}/`)).toEqual([]);
  });

  it('a long video is encoded in chunks by both workers; a worker killed mid-chunk: only that chunk is encoded again', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'chunked.mp4'), durationSec: 36, width: 640, height: 360 });
    const up = await tusUpload(`${api.url}/uploads`, clip, { filename: 'chunked.mp4', title: 'Chunked' });
    const started = (w: ServiceProcess): string[] =>
      w.logs.filter((l) => l['videoId'] === up.videoId && l.msg === 'chunk job started').map((l) => String(l['part']));
    // Kill the worker that runs a chunk after the first, while it runs it.
    const victim = await waitFor(
      async () => {
        const i = workers.findIndex((w) => started(w).some((p) => p !== 'chunk 0' && p !== 'whole'));
        return i >= 0 ? i : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 50, what: 'a later chunk to start' },
    );
    const killedPart = started(workers[victim]!).at(-1)!;
    const dead = workers[victim]!;
    await dead.kill('SIGKILL');
    const v = await settled(up.videoId);
    if (v.status !== 'ready')
      console.log(JSON.stringify([...dead.logs, ...workers[1 - victim]!.logs].filter((l) => (l.level ?? 0) >= 40).slice(-20), null, 1));
    expect({ status: v.status, error: v.error }).toEqual({ status: 'ready', error: null });
    // Previewable once chunk 0 and the whole-source part were out, before the last chunks and the stitch.
    expect(Date.parse(v.previewableAt!)).toBeLessThan(Date.parse(v.readyAt!));
    // Every part ran once, the killed one twice (on the survivor): nothing else was encoded again.
    const all = [...started(dead), ...started(workers[1 - victim]!)];
    const counts = new Map<string, number>();
    for (const p of all) counts.set(p, (counts.get(p) ?? 0) + 1);
    expect(counts.get(killedPart)).toBe(2);
    for (const [p, n] of counts) if (p !== killedPart) expect({ p, n }).toEqual({ p, n: 1 });
    expect([...counts.keys()].sort()).toEqual(['chunk 0', 'chunk 1', 'chunk 2', 'chunk 3', 'chunk 4', 'chunk 5', 'whole']);
    // One VOD playlist per rung, its segments numbered on from chunk to chunk and as long as the source.
    const master = await fetch(`${api.url}${v.playback!.url}`);
    const rung = (await master.text()).split('\n').find((l) => l && !l.startsWith('#'))!;
    const pl = await (await fetch(new URL(rung, master.url))).text();
    const segments = pl.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(segments.map((s) => s.split('?')[0]!.split('/').pop())).toEqual([0, 1, 2, 3, 4, 5].map((n) => `seg_0000${n}.m4s`));
    const total = [...pl.matchAll(/#EXTINF:([\d.]+)/g)].reduce((t, m) => t + Number(m[1]), 0);
    expect(Math.abs(total - 36)).toBeLessThan(0.1);
    expect(pl).toContain('#EXT-X-ENDLIST');
    // Poster and storyboard come from the chunks' own decodes, one tile per interval of the whole video; the parts'
    // frames are gone from the bucket once composed.
    expect(v.playback!.posterUrl).toBeTruthy();
    const vtt = await (await fetch(new URL(v.playback!.storyboardUrl!, api.url))).text();
    expect(vtt.match(/#xywh=/g)?.length).toBe(storyboardTiles(36, storyboardInterval(36)));
    expect(await bucket.list(`hls/${up.videoId}/.stills/`)).toEqual([]);
    const name = victim === 0 ? 'w1' : 'w2';
    workers[victim] = await startWorker(name);
    for (const n of ['w1', 'w2'] as const) expect(await listFiles(path.join(dataDirs[n], 'work'))).toEqual([]);
  });

  it('a long video deleted while its chunks encode: the running chunk is stopped and nothing of it is left anywhere', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'deleted.mp4'), durationSec: 30, width: 640, height: 360 });
    const up = await tusUpload(`${api.url}/uploads`, clip, { filename: 'deleted.mp4', title: 'Deleted mid-chunk' });
    const logs = (): Array<Record<string, unknown>> => workers.flatMap((w) => w.logs).filter((l) => l['videoId'] === up.videoId);
    await waitFor(async () => (logs().some((l) => l.msg === 'chunk job started') ? true : undefined), {
      timeoutMs: 240_000,
      intervalMs: 20,
      what: 'a chunk to start',
    });
    // At once: the chunk that just started is still fetching the master or encoding (seconds on one thread).
    const admin = bearer(await tokenFor('scale-admin', 'admin', { ttlSec: 600 }));
    expect((await fetch(`${api.url}/api/videos/${up.videoId}`, { method: 'DELETE', headers: admin })).status).toBeLessThan(300);
    const chunks = new Queue(CHUNK_QUEUE, { connection: redisConnection(TEST_REDIS_URL), prefix: PREFIX });
    try {
      await waitFor(
        async () => {
          const open = await chunks.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
          return open.some((j) => j.data?.videoId === up.videoId) ? undefined : true;
        },
        { timeoutMs: 120_000, what: 'every chunk job of the deleted video to end' },
      );
    } finally {
      await chunks.close();
    }
    expect(logs().some((l) => l.msg === 'chunk cancel delivered')).toBe(true);
    // Nothing any part published (segments, frames, playlists) outlives the video, nor its upload or master.
    for (const prefix of [`hls/${up.videoId}/`, `incoming/${up.videoId}/`, `masters/${up.videoId}/`])
      expect({ prefix, keys: await bucket.list(prefix) }).toEqual({ prefix, keys: [] });
    await waitFor(
      async () =>
        (await listFiles(path.join(dataDirs.w1, 'work'))).length + (await listFiles(path.join(dataDirs.w2, 'work'))).length === 0
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        what: 'the workers to remove their temp dirs',
      },
    );
  });

  it('an infected upload leaves incoming/ for quarantine/ in the bucket, no master is kept, and no route reaches it', async () => {
    const up = await tusUpload(`${api.url}/uploads`, flagged, { filename: 'flagged.mp4', title: 'Flagged' });
    const v = await settled(up.videoId);
    expect({ status: v.status, code: v.error?.code }).toEqual({ status: 'infected', code: 'INGEST_INFECTED' });
    // The verdict is recorded first, then the object moves to quarantine/ (a crash in between finishes the move later).
    // The master and the worker's temp dir go in the same run's cleanup, which may finish after the row says infected.
    const leftovers = async (): Promise<string[]> => [
      ...(await bucket.list(`incoming/${up.videoId}/`)),
      ...(await bucket.list(`masters/${up.videoId}/`)),
      ...(await listFiles(path.join(dataDirs.w1, 'work'))),
      ...(await listFiles(path.join(dataDirs.w2, 'work'))),
    ];
    await waitFor(async () => ((await leftovers()).length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the infected upload to leave incoming/, its master and temp dirs to be removed',
    });
    expect(await bucket.list(`quarantine/${up.videoId}/`)).toEqual([quarantineKey(up.videoId)]);
    for (const p of [`/hls/${up.videoId}/upload`, `/${quarantineKey(up.videoId)}`, `/objects/archive/${quarantineKey(up.videoId)}`]) {
      expect([200, 206], p).not.toContain((await fetch(`${api.url}${p}`, { headers: mod })).status);
    }
  });

  it('a job whose source is not there fails with TRANSCODE_SOURCE_MISSING (bucket key, and a path only the API host has)', async () => {
    const videos = new VideoRepository(sql);
    const queue = createTranscodeQueue({ connection: redisConnection(TEST_REDIS_URL), prefix: PREFIX, attempts: 2, backoffMs: 300 });
    try {
      const make = async (n: number): Promise<string> =>
        (
          await videos.createFromUpload({
            uploadId: `missing-${n}-${process.pid}`,
            title: `missing ${n}`,
            description: '',
            originalFilename: 'gone.mp4',
            uploaderId: 'scale-uploader',
            sourceKey: `missing-${n}`,
            sourceSizeBytes: 10,
          })
        ).id;
      const [a, b] = [await make(1), await make(2)];
      await queue.add('transcode', { videoId: a, sourceObject: incomingKey(a) }, { jobId: a });
      // What a worker without the shared volume used to wait on for ever as a clamd outage.
      await queue.add('transcode', { videoId: b, sourcePath: path.join(dataDirs.api, 'uploads', 'only-here') }, { jobId: b });
      for (const id of [a, b]) {
        const v = await settled(id);
        expect({ id, status: v.status, code: v.error?.code }).toEqual({ id, status: 'failed', code: 'TRANSCODE_SOURCE_MISSING' });
      }
    } finally {
      await queue.close();
    }
  });
});
