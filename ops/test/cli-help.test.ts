import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/db.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every command-line entry point an operator runs (package.json scripts, the healthcheck), and one short form. */
const RUNS: ReadonlyArray<readonly string[]> = [
  ['ops/main.ts', '--help'],
  ['ops/migrate.ts', '--help'],
  ['ops/migrate.ts', '-h'],
  ['ops/token.ts', '--help'],
  ['ops/restore.ts', '--help'],
  ['ops/retention.ts', '--help'],
  ['ops/master-sweep.ts', '--help'],
  ['ops/backup-cli.ts', 'backup', '--help'],
  ['ops/healthcheck.ts', '--help'],
];

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ...args],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 170_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('command-line --help', () => {
  // The environment names a database that does not exist and carries no secrets: a CLI that loaded its configuration
  // or connected anywhere before looking at --help would fail (or run its task) instead of printing its usage.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };

  it('every CLI prints its usage and exits 0 without doing anything', { timeout: 180_000 }, async () => {
    // All at once: each is a cold tsx start, slow on a busy machine.
    const results = await Promise.all(RUNS.map((args) => run(args, env)));
    for (const [i, r] of results.entries()) {
      expect({ cli: RUNS[i]!.join(' '), code: r.code, stderr: r.stderr }).toEqual({ cli: RUNS[i]!.join(' '), code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^usage: /);
    }
  });
});

describe('npm run migrate', () => {
  it('applies every migration to an empty database, then finds nothing to do', { timeout: 180_000 }, async () => {
    const db = await createTestDatabase();
    try {
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', DATABASE_URL: db.url };
      const first = await run(['ops/migrate.ts'], env);
      expect(first.code).toBe(0);
      const applied = (JSON.parse(first.stdout.trim().split('\n').at(-1)!) as { applied: string[] }).applied;
      expect(applied.length).toBeGreaterThan(5);
      expect(applied[0]).toMatch(/^0001_/);
      const second = await run(['ops/migrate.ts'], env);
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout.trim().split('\n').at(-1)!)).toMatchObject({ applied: [] });
    } finally {
      await db.drop();
    }
  });
});
