import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { listFiles } from '../../test/helpers/app.ts';
import { backupDatabase } from '../backup.ts';
import { decryptStream, encryptStream, keyIdOf } from '../backup-format.ts';
import { listBackups, pruneBackups, readManifest, restoreDatabase } from '../restore-db.ts';

const logger = pino({ level: 'silent' });

async function rowsOf(url: string): Promise<unknown[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...(await sql`SELECT id, title, payload, created_at FROM clips ORDER BY id`)];
  } finally {
    await sql.end();
  }
}

async function collect(src: Readable, stage: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  await pipeline(src, stage, sink);
  return Buffer.concat(chunks);
}

describe('encrypt/decrypt streams', () => {
  const key = randomBytes(32);
  it('round-trips across odd chunk boundaries and rejects a flipped bit', async () => {
    const plain = randomBytes(100_003);
    const parts = [plain.subarray(0, 7), plain.subarray(7, 50_000), plain.subarray(50_000)];
    const enc = await collect(Readable.from(parts), encryptStream(key));
    expect(enc.subarray(0, 8).toString('ascii')).toBe('KSBACKUP');
    const dec = await collect(Readable.from([enc.subarray(0, 5), enc.subarray(5, 30), enc.subarray(30)]), decryptStream(key));
    expect(dec.equals(plain)).toBe(true);
    const bad = Buffer.from(enc);
    bad[5000] = (bad[5000] ?? 0) ^ 1;
    await expect(collect(Readable.from([bad]), decryptStream(key))).rejects.toMatchObject({ code: 'OPS_BACKUP_CHECKSUM_MISMATCH' });
    await expect(collect(Readable.from([enc.subarray(0, 20)]), decryptStream(key))).rejects.toMatchObject({
      code: 'OPS_BACKUP_CHECKSUM_MISMATCH',
    });
  });
});

describe('database backup and restore', () => {
  let source: TestDatabase;
  const scratch: TestDatabase[] = [];
  let dir: string;
  let storage: LocalDiskStorage;
  const key = randomBytes(32);
  const workDir = (): string => path.join(dir, 'work');

  beforeAll(async () => {
    source = await createTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-backup-'));
    storage = new LocalDiskStorage({ root: path.join(dir, 'archive') });
    const sql = postgres(source.url, { max: 1, onnotice: () => {} });
    await sql`CREATE TABLE clips (id int PRIMARY KEY, title text NOT NULL, payload bytea, created_at timestamptz NOT NULL)`;
    for (let i = 1; i <= 200; i++) {
      await sql`INSERT INTO clips VALUES (${i}, ${`Clip ${i} — über 🎬`}, ${randomBytes(64)}, ${new Date(Date.UTC(2026, 0, 1, 0, i))})`;
    }
    await sql.end();
  });

  afterAll(async () => {
    await Promise.all([source?.drop(), ...scratch.map((d) => d.drop())]);
    await rm(dir, { recursive: true, force: true });
  });

  const freshTarget = async (): Promise<TestDatabase> => {
    const db = await createTestDatabase();
    scratch.push(db);
    return db;
  };

  it('backs up with a checksummed manifest and restores every row into a scratch database', async () => {
    const m = await backupDatabase({ databaseUrl: source.url, storage, logger });
    expect(m.encryption).toBeNull();
    expect(m.sha256).toBe(m.storedSha256);
    expect(m.database).toBe(source.name);
    expect(JSON.stringify(m)).not.toContain('postgres://');
    expect((await storage.head(`backups/db/${m.id}/manifest.json`))?.metadata['sha256']).toBe(m.sha256);
    expect(await listBackups(storage)).toContain(m.id);
    const target = await freshTarget();
    await restoreDatabase({ storage, id: m.id, targetUrl: target.url, logger, workDir: workDir() });
    const [a, b] = await Promise.all([rowsOf(source.url), rowsOf(target.url)]);
    expect(b).toHaveLength(200);
    expect(b).toEqual(a);
    expect(await listFiles(workDir())).toEqual([]);
  });

  it('encrypts with AES-256-GCM and restores only with the matching key', async () => {
    const m = await backupDatabase({ databaseUrl: source.url, storage, logger, encryptionKey: key });
    expect(m.encryption).toEqual({ algorithm: 'aes-256-gcm', keyId: keyIdOf(key) });
    expect(m.storedSha256).not.toBe(m.sha256);
    const stored = await readFile(storage.pathOf(m.dumpKey));
    expect(stored.includes(Buffer.from('Clip 1'))).toBe(false);
    const target = await freshTarget();
    await expect(restoreDatabase({ storage, id: m.id, targetUrl: target.url, logger, workDir: workDir() })).rejects.toMatchObject({
      code: 'OPS_BACKUP_KEY_MISSING',
    });
    await expect(
      restoreDatabase({ storage, id: m.id, targetUrl: target.url, logger, workDir: workDir(), encryptionKey: randomBytes(32) }),
    ).rejects.toMatchObject({ code: 'OPS_BACKUP_KEY_MISMATCH' });
    await restoreDatabase({ storage, id: 'latest', targetUrl: target.url, logger, workDir: workDir(), encryptionKey: key });
    expect(await rowsOf(target.url)).toEqual(await rowsOf(source.url));
  });

  it('refuses a damaged dump before pg_restore touches the target', async () => {
    const m = await backupDatabase({ databaseUrl: source.url, storage, logger });
    const file = storage.pathOf(m.dumpKey);
    const bytes = await readFile(file);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const target = await freshTarget();
    await expect(restoreDatabase({ storage, id: m.id, targetUrl: target.url, logger, workDir: workDir() })).rejects.toMatchObject({
      code: 'OPS_BACKUP_CHECKSUM_MISMATCH',
    });
    await expect(rowsOf(target.url)).rejects.toMatchObject({ code: '42P01' }); // relation "clips" does not exist
    expect(await listFiles(workDir())).toEqual([]);
  });

  it('prunes all but the newest backups, manifest first, and leaves folders without a manifest alone', async () => {
    const prefix = 'backups/prune';
    const at = (min: number) => () => Date.UTC(2026, 0, 1, 0, min);
    for (const min of [1, 2, 3]) await backupDatabase({ databaseUrl: source.url, storage, logger, prefix, now: at(min) });
    await storage.put(`${prefix}/20250101T000000Z-inprogress/dump.pgc`, Readable.from([Buffer.from('partial')]));
    const ids = await listBackups(storage, prefix);
    expect(ids).toHaveLength(3);
    expect(await pruneBackups(storage, 2, prefix)).toEqual([ids[0]]);
    expect(await listBackups(storage, prefix)).toEqual(ids.slice(1));
    expect(await storage.list(`${prefix}/${ids[0]}/`)).toEqual([]);
    expect(await storage.head(`${prefix}/20250101T000000Z-inprogress/dump.pgc`)).toBeDefined();
    await expect(pruneBackups(storage, 0, prefix)).rejects.toThrow(RangeError);
  });

  it('fails with stable codes for a missing backup, a broken source and a non-empty target', async () => {
    await expect(readManifest(storage, 'nope')).rejects.toMatchObject({ code: 'OPS_BACKUP_NOT_FOUND' });
    const before = await listBackups(storage);
    const badUrl = source.url.replace(source.name, `${source.name}_missing`);
    await expect(backupDatabase({ databaseUrl: badUrl, storage, logger })).rejects.toMatchObject({ code: 'OPS_BACKUP_FAILED' });
    expect(await listBackups(storage)).toEqual(before);
    expect((await storage.list('backups/db/')).filter((k) => !k.endsWith('manifest.json'))).toHaveLength(before.length);
    // The source already has the table: the single-transaction restore fails and leaves the rows as they were.
    const fresh = await backupDatabase({ databaseUrl: source.url, storage, logger, prefix: 'backups/fresh' });
    await expect(
      restoreDatabase({ storage, id: fresh.id, prefix: 'backups/fresh', targetUrl: source.url, logger, workDir: workDir() }),
    ).rejects.toMatchObject({ code: 'OPS_RESTORE_FAILED' });
    expect(await rowsOf(source.url)).toHaveLength(200);
  });
});
