import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { createDb, type Sql } from '../client.ts';
import { migrate, MIGRATIONS_DIR } from '../migrate.ts';

describe('migrate', () => {
  let db: TestDatabase;
  let sql: Sql;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = createDb({ url: db.url, max: 4 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-mig-'));
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the project migrations once, even when two processes race', async () => {
    const [a, b] = await Promise.all([migrate(sql), migrate(sql)]);
    expect([...a.applied, ...b.applied].filter((n) => n === '0001_init.sql')).toHaveLength(1);
    const tables = await sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`;
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['videos', 'renditions', 'schema_migrations']));
    expect((await migrate(sql)).applied).toEqual([]);
    expect(MIGRATIONS_DIR.endsWith('migrations')).toBe(true);
  });

  it('refuses an applied migration whose file changed, and rolls back everything in that run', async () => {
    await writeFile(path.join(dir, '9001_a.sql'), 'CREATE TABLE mig_a (id int);');
    expect((await migrate(sql, dir)).applied).toEqual(['9001_a.sql']);
    await writeFile(path.join(dir, '9001_a.sql'), 'CREATE TABLE mig_a (id bigint);');
    await writeFile(path.join(dir, '9002_b.sql'), 'CREATE TABLE mig_b (id int);');
    await expect(migrate(sql, dir)).rejects.toMatchObject({ code: 'DB_MIGRATION_CHANGED' });
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'mig_b'`;
    expect(row!.n).toBe(0);
  });
});
