import { createDb } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { runCli } from './cli.ts';

/**
 * `npm run migrate`: applies the pending SQL migrations (db/migrations) to DATABASE_URL and exits. The API and worker
 * processes migrate at start as well, under the same advisory lock; this is for deploy scripts that want the schema
 * ready (or a failure reported) before any process starts.
 */
const USAGE = `usage: npm run migrate
  Applies pending migrations from db/migrations to DATABASE_URL in one transaction and prints the files applied.
  A migration whose content changed after it was applied is refused (DB_MIGRATION_CHANGED).`;

runCli(
  'migrate',
  USAGE,
  async (config) => {
    const sql = createDb({ url: config.databaseUrl, max: 1 });
    try {
      return await migrate(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  },
  (r, logger) => logger.info({ applied: r.applied }, r.applied.length ? 'migrations applied' : 'schema up to date'),
);
