import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import { createDb, type Sql } from '../db/client.ts';
import type { AppConfig } from './app-config.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { openStorages, type Storages } from './storage-factory.ts';

/** True when the module at `moduleUrl` is the script node was started with (`node --import tsx ops/x.ts`). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/**
 * `--help` / `-h` anywhere on the command line prints `usage` and exits 0 before anything is read or changed: an
 * operator asking how a sweep works must not run the sweep.
 */
export function exitOnHelp(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!argv.some((a) => a === '--help' || a === '-h')) return;
  process.stdout.write(`${usage.trim()}\n`);
  process.exit(0);
}

/**
 * Runs one command-line task with the validated configuration and a logger tagged with `role`; `done` logs the
 * result. A failure prints the error (which says how to fix it) and exits 1, so cron and scripts see it.
 */
export function runCli<T>(
  role: string,
  usage: string,
  task: (config: AppConfig, logger: Logger) => Promise<T>,
  done: (r: T, logger: Logger) => void,
): void {
  exitOnHelp(usage);
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, base: { role } });
  task(config, logger).then(
    (r) => done(r, logger),
    (err: unknown) => {
      console.error(describeError(err));
      process.exit(1);
    },
  );
}

/** Opens a small database pool and the configured stores for a one-off task; both are closed whatever happens. */
export async function withDbAndStorages<T>(
  config: AppConfig,
  logger: Logger,
  fn: (sql: Sql, storages: Storages) => Promise<T>,
): Promise<T> {
  const sql = createDb({ url: config.databaseUrl, max: 2 });
  try {
    const storages = await openStorages(config, logger);
    try {
      return await fn(sql, storages);
    } finally {
      await storages.close();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
