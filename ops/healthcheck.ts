/**
 * Container health probe (Dockerfile HEALTHCHECK, compose healthcheck):
 *   node --import tsx ops/healthcheck.ts --role api      # GET /healthz on the local API
 *   node --import tsx ops/healthcheck.ts --role worker   # Redis answers PING and ffmpeg runs
 * Exit 0 = healthy, 1 = unhealthy (the reason on stderr).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { describeError } from '../core/errors.ts';
import { exitOnHelp } from './cli.ts';
import { loadConfig, type AppConfig } from './config.ts';
import { resolveFfmpeg } from './ffmpeg-binaries.ts';

async function checkApi(c: AppConfig): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${c.port}/healthz`, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) throw new Error(`/healthz answered ${res.status}`);
}

async function checkWorker(c: AppConfig): Promise<void> {
  // A worker that cannot reach Redis takes no jobs; one without ffmpeg fails every job.
  const redis = new Redis(c.redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') throw new Error('redis did not answer PONG');
  } finally {
    redis.disconnect();
  }
  await resolveFfmpeg({ ffmpegPath: c.ffmpegPath, ffprobePath: c.ffprobePath });
}

async function main(): Promise<void> {
  exitOnHelp('usage: node --import tsx ops/healthcheck.ts [--role api|worker]\n  Exit 0 = healthy, 1 = unhealthy (the reason on stderr).');
  const { values } = parseArgs({ options: { role: { type: 'string', default: 'api' } } });
  const config = loadConfig(process.env);
  if (values.role === 'worker') await checkWorker(config);
  else await checkApi(config);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`unhealthy: ${describeError(err)}`);
    process.exit(1);
  },
);
