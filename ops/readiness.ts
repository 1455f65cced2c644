import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { ReadinessCheck } from '../api/routes/readiness-probe.ts';
import type { Sql } from '../db/client.ts';
import type { DiskSpace } from '../ingest/disk-space.ts';
import { pingClamd, type ClamdOptions } from '../ingest/scan.ts';
import type { ObjectStorage } from '../storage/types.ts';

const run = promisify(execFile);

export interface ReadinessOptions {
  readonly sql: Sql;
  readonly redisUrl: string;
  /** clamd address; undefined → the clamd check reports skipped. */
  readonly clamd: ClamdOptions | undefined;
  readonly ffmpegPath: string;
  readonly storage: ObjectStorage;
  /** Free space of the data volume against its reserve; undefined → the disk check reports skipped. */
  readonly disk?: DiskSpace;
  /** Per-check timeout in ms; default 2000. */
  readonly timeoutMs?: number;
}

/**
 * The dependencies /readyz checks. Redis gets its own client that never queues commands while disconnected, so a
 * dead Redis fails the probe at once instead of hanging until the timeout.
 */
export function createReadinessChecks(o: ReadinessOptions): { checks: ReadinessCheck[]; close(): Promise<void> } {
  const timeoutMs = o.timeoutMs ?? 2000;
  const redis = new Redis(o.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => undefined); // reported by the check itself; ioredis would otherwise log unhandled errors
  const clamd = o.clamd;
  const checks: ReadinessCheck[] = [
    {
      name: 'postgres',
      run: async () => {
        await o.sql`SELECT 1`;
      },
    },
    {
      name: 'redis',
      run: async () => {
        if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
        const pong = await redis.ping();
        if (pong !== 'PONG') throw new Error(`redis answered ${pong}`);
      },
    },
    { name: 'clamd', run: clamd ? () => pingClamd({ ...clamd, timeoutMs }) : 'skipped' },
    {
      name: 'ffmpeg',
      run: async () => {
        await run(o.ffmpegPath, ['-hide_banner', '-version'], { timeout: timeoutMs });
      },
    },
    // A head() of a missing key proves the store answers (and, for S3, that credentials work) without writing.
    {
      name: 'storage',
      run: async () => {
        await o.storage.head('readyz/probe');
      },
    },
    { name: 'disk', run: o.disk ? diskCheck(o.disk) : 'skipped' },
  ];
  return {
    checks,
    close: async () => {
      redis.disconnect();
    },
  };
}

/**
 * Not ready below the reserve: uploads are refused there already, and strip, transcode and packaging of accepted
 * videos need that space; an orchestrator should see it before the disk is full, not after.
 */
function diskCheck(disk: DiskSpace): () => Promise<void> {
  return async () => {
    const free = await disk.freeBytes();
    if (free < disk.reserveBytes) {
      throw new Error(`${free} bytes free on the data volume, below the ${disk.reserveBytes}-byte reserve (DISK_RESERVE_BYTES)`);
    }
  };
}
