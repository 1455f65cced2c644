import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipelineError } from '../core/errors.ts';
import type { Sql } from './client.ts';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Arbitrary constant shared by every process that migrates this schema (pg advisory lock key). */
const LOCK_KEY = 7_311_024_101;

interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { version: Number(name.slice(0, 4)), name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export interface MigrateResult {
  readonly applied: string[];
}

/**
 * Applies numbered .sql files in one transaction under an advisory lock (so concurrent API/worker starts are safe)
 * and records each in a ledger. An applied file whose content changed is refused: migrations are append-only.
 */
export async function migrate(sql: Sql, dir: string = MIGRATIONS_DIR): Promise<MigrateResult> {
  const files = await readMigrations(dir);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const rows = await tx<{ version: number; name: string; checksum: string }[]>`SELECT version, name, checksum FROM schema_migrations`;
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const file of files) {
      const prior = done.get(file.version);
      if (prior) {
        if (prior.checksum !== file.checksum) {
          throw new PipelineError('DB_MIGRATION_CHANGED', `Migration ${file.name} differs from the applied one.`, { file: file.name });
        }
        continue;
      }
      await tx.unsafe(file.sql);
      await tx`INSERT INTO schema_migrations (version, name, checksum) VALUES (${file.version}, ${file.name}, ${file.checksum})`;
      applied.push(file.name);
    }
    return { applied };
  });
}
