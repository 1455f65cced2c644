import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { listFiles, waitFor } from '../helpers/app.ts';
import { bearer, TEST_JWT_SECRET, TEST_PLAYBACK_KEY, tokenFor } from '../helpers/auth.ts';
import { startClamd, type TestClamd } from '../helpers/clamd.ts';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../helpers/private-services.ts';
import { startService, type ServiceProcess } from '../helpers/processes.ts';

export interface VideoState {
  readonly id: string;
  readonly status: string;
  readonly stage: string | null;
  readonly error: { code: string } | null;
  readonly playback: { url: string } | null;
  /** Set while the job waits for a dependency (clamd, storage, disk). */
  readonly waiting?: { for: string; since: string } | null;
}

export const TERMINAL = new Set(['ready', 'rejected', 'failed', 'infected']);

/**
 * A deployment of its own for fault injection: private Redis, PostgreSQL and clamd, and the API and the worker as
 * separate processes, so each can be stopped, killed or cut off without touching anything else on the machine.
 */
export interface Deployment {
  readonly redis: PrivateRedis;
  readonly pg: PrivatePostgres;
  clamd: TestClamd;
  readonly dataDir: string;
  readonly env: Record<string, string>;
  api: ServiceProcess;
  worker: ServiceProcess;
  readonly url: string;
  readonly mod: Record<string, string>;
  /** GET /api/videos/:id as a moderator. */
  video(id: string): Promise<VideoState>;
  /** Waits until the video is in a terminal state and returns it. */
  settled(id: string, timeoutMs?: number): Promise<VideoState>;
  restartWorker(signal?: NodeJS.Signals): Promise<void>;
  restartApi(signal?: NodeJS.Signals): Promise<void>;
  /** Starts clamd again on the same socket. */
  restartClamd(): Promise<void>;
  /** A query against the deployment's database (opens and closes its own connection). */
  query<T extends object>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Files under DATA_DIR (uploads, masters, work, published) that no video row references. */
  unreferencedFiles(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startDeployment(extraEnv: Record<string, string> = {}): Promise<Deployment> {
  const [redis, pg] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
  const clamdDir = await mkdtemp(path.join(os.tmpdir(), 'ks-fault-clamd-'));
  const socket = path.join(clamdDir, 'clamd.sock');
  const clamd = await startClamd({ socket, dir: clamdDir });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ks-fault-data-'));
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'ksfault',
    CLAMD_SOCKET: socket,
    JWT_SECRET: TEST_JWT_SECRET,
    PLAYBACK_SIGNING_KEY: TEST_PLAYBACK_KEY,
    UPLOAD_TOKEN_SECRET: 'fault-suite-upload-token-secret-0123456789',
    LOG_LEVEL: 'info',
    FFMPEG_THREADS: '1',
    TRANSCODE_BACKOFF_MS: '500',
    JOB_LOCK_MS: '4000',
    JOB_STALLED_INTERVAL_MS: '1000',
    ...extraEnv,
  };
  // The API migrates the database; the worker starts once the schema exists.
  let api = await startService('api', env);
  const url = api.url!;
  const apiEnv = { ...env, PORT: new URL(url).port };
  let worker = await startService('worker', env);
  const mod = bearer(await tokenFor('fault-mod', 'moderator', { ttlSec: 3600 }));
  const d: Deployment = {
    redis,
    pg,
    clamd,
    dataDir,
    env,
    url,
    mod,
    get api() {
      return api;
    },
    set api(v) {
      api = v;
    },
    get worker() {
      return worker;
    },
    set worker(v) {
      worker = v;
    },
    video: async (id) => (await (await fetch(`${url}/api/videos/${id}`, { headers: mod })).json()) as VideoState,
    settled: (id, timeoutMs = 180_000) =>
      waitFor(
        async () => {
          const v = await d.video(id).catch(() => undefined);
          return v && TERMINAL.has(v.status) ? v : undefined;
        },
        { timeoutMs, what: `video ${id} to settle`, intervalMs: 500 },
      ),
    restartWorker: async (signal = 'SIGTERM') => {
      await worker.kill(signal);
      worker = await startService('worker', env);
    },
    restartApi: async (signal = 'SIGTERM') => {
      await api.kill(signal);
      api = await startService('api', apiEnv);
    },
    restartClamd: async () => {
      d.clamd = await startClamd({ socket, dir: clamdDir });
    },
    query: async <T extends object>(text: string, params: readonly unknown[] = []): Promise<T[]> => {
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        return (await sql.unsafe(text, params as never[])) as unknown as T[];
      } finally {
        await sql.end();
      }
    },
    unreferencedFiles: async () => {
      const rows = await d.query<{ id: string }>('SELECT id::text FROM videos');
      const ids = new Set(rows.map((r) => r.id));
      const files = await listFiles(dataDir);
      return files.filter((f) => {
        const rel = path.relative(dataDir, f).split(path.sep);
        if (rel[0] === 'masters' || rel[0] === 'published') return !rel.some((seg) => ids.has(seg));
        if (rel[0] === 'work') return true;
        return false;
      });
    },
    close: async () => {
      await Promise.allSettled([api.kill('SIGKILL'), worker.kill('SIGKILL')]);
      await Promise.allSettled([d.clamd.stop(), redis.close(), pg.close()]);
      await rm(clamdDir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return d;
}

export async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}
