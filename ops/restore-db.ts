import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import { HashingStream } from '../core/hashing.ts';
import type { Logger } from '../core/logger.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { DEFAULT_BACKUP_PREFIX, MANIFEST_NAME } from './backup.ts';
import { decryptStream, keyIdOf, ManifestSchema, spawnTool, type BackupManifest } from './backup-format.ts';

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

/** Complete backups (those with a manifest), oldest first. */
export async function listBackups(storage: ObjectStorage, prefix = DEFAULT_BACKUP_PREFIX): Promise<string[]> {
  const keys = await storage.list(`${prefix}/`);
  return keys
    .filter((k) => k.endsWith(`/${MANIFEST_NAME}`))
    .map((k) => k.slice(prefix.length + 1, -(MANIFEST_NAME.length + 1)))
    .sort();
}

/**
 * Deletes complete backups beyond the newest `keep`. The manifest goes first, so a half-deleted backup is never
 * listed; folders without a manifest are left alone (one may be a backup still being written on another host).
 */
export async function pruneBackups(storage: ObjectStorage, keep: number, prefix = DEFAULT_BACKUP_PREFIX): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError('keep must be an integer >= 1');
  const ids = await listBackups(storage, prefix);
  const doomed = ids.slice(0, Math.max(0, ids.length - keep));
  for (const id of doomed) {
    await storage.delete(`${prefix}/${id}/${MANIFEST_NAME}`);
    for (const key of await storage.list(`${prefix}/${id}/`)) await storage.delete(key);
  }
  return doomed;
}

/** The manifest of backup `id` (`latest` = newest); OPS_BACKUP_NOT_FOUND when absent. */
export async function readManifest(storage: ObjectStorage, id: string, prefix = DEFAULT_BACKUP_PREFIX): Promise<BackupManifest> {
  const resolved = id === 'latest' ? (await listBackups(storage, prefix)).at(-1) : id;
  const key = `${prefix}/${resolved ?? 'none'}/${MANIFEST_NAME}`;
  if (!resolved || !(await storage.head(key))) throw new PipelineError('OPS_BACKUP_NOT_FOUND', `No backup ${id}.`, { id, prefix });
  return ManifestSchema.parse(JSON.parse(await readAll(await storage.get(key))));
}

export interface RestoreOptions {
  readonly storage: ObjectStorage;
  /** Backup id, or `latest`. */
  readonly id: string;
  /** Existing database to restore into (postgres:// URL); objects the dump creates must not exist there yet. */
  readonly targetUrl: string;
  readonly logger: Logger;
  /** Needed for encrypted backups: the key whose keyId the manifest names. */
  readonly encryptionKey?: Buffer | undefined;
  /** Where the verified dump is staged; removed afterwards. */
  readonly workDir: string;
  /** Default `backups/db`. */
  readonly prefix?: string;
  /** pg_restore binary; default `pg_restore` on PATH. */
  readonly pgRestorePath?: string;
}

function keyFor(m: BackupManifest, key: Buffer | undefined): Buffer | undefined {
  if (!m.encryption) return undefined;
  if (!key) throw new PipelineError('OPS_BACKUP_KEY_MISSING', `Backup ${m.id} is encrypted.`, { keyId: m.encryption.keyId });
  if (keyIdOf(key) !== m.encryption.keyId) {
    throw new PipelineError('OPS_BACKUP_KEY_MISMATCH', `Backup ${m.id} needs key ${m.encryption.keyId}.`, {
      keyId: m.encryption.keyId,
      given: keyIdOf(key),
    });
  }
  return key;
}

/**
 * Downloads the dump, decrypts it, and checks both sha256 sums against the manifest *before* pg_restore sees a byte:
 * a damaged archive copy restores nothing. pg_restore then runs in one transaction, so a failure leaves the target
 * as it was.
 */
export async function restoreDatabase(o: RestoreOptions): Promise<BackupManifest> {
  const prefix = o.prefix ?? DEFAULT_BACKUP_PREFIX;
  const m = await readManifest(o.storage, o.id, prefix);
  const key = keyFor(m, o.encryptionKey);
  await mkdir(o.workDir, { recursive: true });
  const tmp = await mkdtemp(path.join(o.workDir, 'restore-'));
  try {
    const file = path.join(tmp, 'dump.pgc');
    const stored = new HashingStream();
    const plain = new HashingStream();
    const stages: Transform[] = key ? [stored, decryptStream(key), plain] : [stored, plain];
    await pipeline([await o.storage.get(m.dumpKey), ...stages, createWriteStream(file)]).catch((err: unknown) => {
      if (isPipelineError(err)) throw err;
      throw new PipelineError('OPS_BACKUP_CHECKSUM_MISMATCH', 'Reading the archived dump failed.', { dumpKey: m.dumpKey }, { cause: err });
    });
    const storedSum = stored.digest();
    const plainSum = plain.digest();
    if (storedSum !== m.storedSha256 || plainSum !== m.sha256 || plain.bytes !== m.sizeBytes) {
      throw new PipelineError('OPS_BACKUP_CHECKSUM_MISMATCH', `Backup ${m.id} does not match its manifest.`, {
        expected: m.sha256,
        actual: plainSum,
        expectedStored: m.storedSha256,
        actualStored: storedSum,
      });
    }
    // --no-owner/--no-acl: the target may belong to another role (scratch DB, new host); --exit-on-error +
    // --single-transaction make a restore all-or-nothing.
    const args = ['--no-owner', '--no-acl', '--exit-on-error', '--single-transaction', '--no-password', '--dbname', o.targetUrl, file];
    await spawnTool(o.pgRestorePath ?? 'pg_restore', args, 'OPS_RESTORE_FAILED').done;
    o.logger.info({ id: m.id, bytes: m.sizeBytes }, 'database restored');
    return m;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
