import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { startApp, type ProcessRole, type RunningApp } from '../../ops/app.ts';
import { loadConfig, type AppConfig } from '../../ops/config.ts';
import { createLogger } from '../../ops/logger.ts';
import { startClamd, type TestClamd } from './clamd.ts';
import { TEST_JWT_SECRET, TEST_PLAYBACK_KEY } from './auth.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { TEST_REDIS_URL } from './env.ts';

export interface TestApp {
  readonly app: RunningApp;
  readonly url: string;
  readonly config: AppConfig;
  readonly db: TestDatabase;
  readonly dataDir: string;
  /** The clamd this helper started (absent when the caller passed CLAMD_SOCKET/CLAMD_PORT itself). */
  readonly clamd: TestClamd | undefined;
  /** Stops the app and clamd, drops the database, deletes the queue's Redis keys and the data dir. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly roles?: readonly ProcessRole[];
  readonly env?: Record<string, string>;
  /** Start a test clamd even for an API-only app (for workers the test starts itself on the same config). */
  readonly withClamd?: boolean;
  /** Where the app logs (to read its lines back); default stdout. */
  readonly logStream?: DestinationStream;
  /** Clock of playback signatures and the access cache (startApp's `now`); default Date.now. */
  readonly now?: () => number;
  /** Rewrites the test database's URL before the app gets it (e.g. through a proxy that can cut it); default none. */
  readonly databaseUrl?: (url: string) => string;
}

/** Deletes every Redis key under a BullMQ prefix (SCAN, not KEYS, so it never blocks a shared Redis). */
export async function deleteQueueKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A whole pipeline on a random port with its own database, queue prefix and data directory. */
export async function startTestApp(o: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ks-test-'));
  // Only workers scan; an API-only app needs no clamd.
  const ownClamd =
    ((o.roles ?? ['worker']).includes('worker') || o.withClamd === true) && !(o.env?.['CLAMD_SOCKET'] || o.env?.['CLAMD_PORT']);
  const clamd = ownClamd ? await startClamd() : undefined;
  const config = loadConfig({
    ...(clamd ? { CLAMD_SOCKET: clamd.socket } : {}),
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: o.databaseUrl ? o.databaseUrl(db.url) : db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: `kst${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'warn',
    FFMPEG_THREADS: '2',
    // Tests share the cores with other tests' ffmpeg at niceness 0, which a niced ladder would wait behind: what a
    // test then measures is its neighbours. The niced ladder has its own test (transcode-worker).
    FFMPEG_NICE: '0',
    JWT_SECRET: TEST_JWT_SECRET,
    PLAYBACK_SIGNING_KEY: TEST_PLAYBACK_KEY,
    ...o.env,
  });
  const logger = createLogger({ level: config.logLevel, destination: o.logStream });
  const app = await startApp({ config, roles: o.roles, logger, now: o.now }).catch(async (err: unknown) => {
    await clamd?.stop();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  let closing: Promise<void> | undefined;
  return {
    app,
    url: app.url ?? '',
    config,
    db,
    dataDir,
    clamd,
    close: () => {
      closing ??= (async () => {
        await app.close();
        await clamd?.stop();
        await deleteQueueKeys(config.redisUrl, config.queuePrefix);
        await db.drop();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/** Files left in a directory tree (for "temp dirs are empty afterwards" checks). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}
