import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tus from 'tus-js-client';
import { issueAccessToken } from '../api/auth.ts';
import { startDevClamd, type DevClamd } from '../ops/dev-clamd.ts';
import { createScratchDatabase } from '../ops/dev-database.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the bench finds PostgreSQL and Redis (the same services the test suite uses). */
const ADMIN_DATABASE_URL =
  process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface VideoTimes {
  readonly status: string;
  readonly previewableAt: string | null;
  readonly readyAt: string | null;
}

/** The whole service (API + worker) as `npm start` runs it, in its own process, with its own database and clamd. */
export interface E2eService {
  readonly url: string;
  /** Uploads with tus-js-client; resolves when the final PATCH is answered (the moment "upload finished"). */
  upload(file: string): Promise<{ videoId: string; finishedAt: number }>;
  video(videoId: string): Promise<VideoTimes>;
  /** Stops the service and clamd, drops the database, removes the data dir. Idempotent. */
  close(): Promise<void>;
}

function waitForStarted(child: ChildProcess, logFile: string | undefined): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  if (logFile) lines.on('line', (l) => appendFileSync(logFile, `${l}\n`));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`service exited (${code}) before it started`)));
    lines.on('line', (l) => {
      const line = (() => {
        try {
          return JSON.parse(l) as { msg?: string; url?: string };
        } catch {
          return {};
        }
      })();
      // A worker-only process has no URL to report.
      if (line.msg === 'started') resolve(line.url ?? '');
    });
  });
}

export interface E2eServiceOptions {
  /** Parent of the service's data dir, database-free scratch and clamd dir. */
  readonly tmpRoot: string;
  /** Extra service configuration (e.g. X264_PRESET). */
  readonly env?: Record<string, string>;
  /** Append the service's log lines (pino JSON) here, to see where its time went. */
  readonly logFile?: string;
  /**
   * Separate worker processes (the main process then runs the API only), each pinned with `taskset -c` to its CPU
   * list when one is given: the scale-out bench. Default: one process with both roles, as `npm start`.
   */
  readonly workers?: ReadonlyArray<{ readonly cpus?: string }>;
  /** Start a clamd for the service; default true. An API-only service (workers: []) that scans nothing needs none. */
  readonly clamd?: boolean;
}

export async function startE2eService(o: E2eServiceOptions): Promise<E2eService> {
  const dir = await mkdtemp(path.join(o.tmpRoot, 'e2e-'));
  const db = await createScratchDatabase(ADMIN_DATABASE_URL, 'bench');
  const jwtSecret = randomBytes(24).toString('hex');
  let clamd: DevClamd | undefined;
  let child: ChildProcess | undefined;
  const workers: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of [...workers, child]) {
      if (!c || c.exitCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
    await clamd?.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    if (o.clamd !== false) clamd = await startDevClamd({ dir: path.join(dir, 'clamd') });
    const main = ['--import', 'tsx', path.join(ROOT, 'ops', 'main.ts')];
    const env = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: `ksb${randomBytes(4).toString('hex')}`,
      ...(clamd ? { CLAMD_SOCKET: clamd.socket } : {}),
      LOG_LEVEL: 'info',
      JWT_SECRET: jwtSecret,
      PLAYBACK_SIGNING_KEY: randomBytes(24).toString('hex'),
      ...o.env,
    };
    const roles = o.workers ? ['--role', 'api'] : [];
    child = spawn(process.execPath, [...main, ...roles], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env });
    const url = await waitForStarted(child, o.logFile);
    for (const w of o.workers ?? []) {
      const argv = [process.execPath, ...main, '--role', 'worker'];
      const [cmd, ...args] = w.cpus ? ['taskset', '-c', w.cpus, ...argv] : argv;
      const worker = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...env, WORKER_METRICS_PORT: '0' } });
      workers.push(worker);
      await waitForStarted(worker, o.logFile);
    }
    const auth = async (sub: string, role: 'uploader' | 'moderator'): Promise<Record<string, string>> => ({
      authorization: `Bearer ${await issueAccessToken({ secret: jwtSecret, sub, role, ttlSec: 3600 })}`,
    });
    const moderator = await auth('bench-moderator', 'moderator');
    let closing: Promise<void> | undefined;
    return {
      url,
      upload: async (file) => {
        const res = await fetch(`${url}/api/upload-tokens`, { method: 'POST', headers: await auth('bench-uploader', 'uploader') });
        if (res.status !== 201) throw new Error(`upload token: HTTP ${res.status}`);
        const { token } = (await res.json()) as { token: string };
        const size = (await stat(file)).size;
        return new Promise((resolve, reject) => {
          const up = new tus.Upload(createReadStream(file), {
            endpoint: `${url}/uploads`,
            uploadSize: size,
            chunkSize: 64 * 1024 * 1024,
            retryDelays: [],
            headers: { 'Upload-Token': token },
            metadata: { filename: path.basename(file), title: 'bench' },
            onError: reject,
            onSuccess: (payload) => {
              const finishedAt = Date.now();
              const videoId = payload.lastResponse.getHeader('Video-Id');
              if (videoId) resolve({ videoId, finishedAt });
              else reject(new Error('upload finished without Video-Id'));
            },
          });
          up.start();
        });
      },
      video: async (videoId) => {
        const res = await fetch(`${url}/api/videos/${videoId}`, { headers: moderator });
        if (!res.ok) throw new Error(`GET video: HTTP ${res.status}`);
        return (await res.json()) as VideoTimes;
      },
      close: () => (closing ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
