import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { describeError, PipelineError } from '../core/errors.ts';
import { HashingStream } from '../core/hashing.ts';
import type { Logger } from '../core/logger.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { databaseNameOf, encryptStream, keyIdOf, ManifestSchema, spawnTool, type BackupManifest } from './backup-format.ts';

const execFileAsync = promisify(execFile);

/** Archive prefix of database backups; one folder per backup holding the dump and its manifest. */
export const DEFAULT_BACKUP_PREFIX = 'backups/db';
export const MANIFEST_NAME = 'manifest.json';

export interface BackupOptions {
  /** Database to dump (postgres:// URL). */
  readonly databaseUrl: string;
  /** The archive bucket (S3 in production, LocalDiskStorage in tests). */
  readonly storage: ObjectStorage;
  readonly logger: Logger;
  /** 32-byte AES-256-GCM key; absent = checksummed but not encrypted. */
  readonly encryptionKey?: Buffer | undefined;
  /** Key prefix in the archive; default `backups/db`. */
  readonly prefix?: string;
  /** pg_dump binary; default `pg_dump` on PATH. Its major version must be ≥ the server's. */
  readonly pgDumpPath?: string;
  /** Clock in ms since the epoch, for the backup id; default Date.now. */
  readonly now?: () => number;
}

/** `20260123T091500Z-ab12cd`: sorts by time, unique across hosts. */
function backupId(nowMs: number): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

async function toolVersion(bin: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(bin, ['--version'], { timeout: 10_000 });
    return stdout.trim();
  } catch (err) {
    throw new PipelineError('OPS_BACKUP_FAILED', `${bin} is not runnable.`, { bin }, { cause: err });
  }
}

/**
 * Streams `pg_dump --format=custom` through a sha256 counter (and AES-256-GCM when a key is set) into the archive,
 * then writes the manifest last: a backup folder without a manifest is incomplete and is never listed or restored.
 * The hash lives in the manifest (and its object metadata) because S3 sends object metadata before the body, so a
 * streamed object cannot carry its own hash without buffering the whole dump.
 */
export async function backupDatabase(o: BackupOptions): Promise<BackupManifest> {
  const bin = o.pgDumpPath ?? 'pg_dump';
  const tool = await toolVersion(bin);
  const id = backupId((o.now ?? Date.now)());
  const folder = `${o.prefix ?? DEFAULT_BACKUP_PREFIX}/${id}`;
  const dumpKey = `${folder}/dump.pgc${o.encryptionKey ? '.enc' : ''}`;
  const plain = new HashingStream();
  const stored = new HashingStream();
  // --no-password: never hang on a prompt in cron; credentials come from the URL or ~/.pgpass.
  const dump = spawnTool(bin, ['--format=custom', '--no-password', '--dbname', o.databaseUrl], 'OPS_BACKUP_FAILED');
  const stages: NodeJS.ReadWriteStream[] = o.encryptionKey ? [plain, encryptStream(o.encryptionKey), stored] : [plain, stored];
  // The last stage's readable side is what storage.put consumes; pipeline() destroys it too if pg_dump fails.
  const body = new PassThrough();
  // allSettled, not all: the partial object is deleted only after every side has stopped writing.
  const results = await Promise.allSettled([
    dump.done,
    pipeline([dump.stdout, ...stages, body]),
    // A store that refuses the object must also stop the producer: otherwise pg_dump blocks on a full pipe forever.
    o.storage.put(dumpKey, body, { contentType: 'application/octet-stream', metadata: { 'backup-id': id } }).catch((err: unknown) => {
      body.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }),
  ]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    // pg_dump failing midway leaves a prefix of a dump: never keep it where a restore could find it.
    await o.storage.delete(dumpKey).catch((e: unknown) => o.logger.error({ err: describeError(e) }, 'could not delete partial dump'));
    const err: unknown = failure.reason;
    throw err instanceof PipelineError
      ? err
      : new PipelineError('OPS_BACKUP_FAILED', 'Streaming the dump failed.', { dumpKey }, { cause: err });
  }
  const manifest: BackupManifest = ManifestSchema.parse({
    format: 'kidstream-db-backup/1',
    id,
    createdAt: new Date().toISOString(),
    database: databaseNameOf(o.databaseUrl),
    tool,
    dumpKey,
    sha256: plain.digest(),
    sizeBytes: plain.bytes,
    storedSha256: stored.digest(),
    storedBytes: stored.bytes,
    encryption: o.encryptionKey ? { algorithm: 'aes-256-gcm', keyId: keyIdOf(o.encryptionKey) } : null,
  });
  await o.storage.put(`${folder}/${MANIFEST_NAME}`, Readable.from([JSON.stringify(manifest, null, 2)]), {
    contentType: 'application/json',
    metadata: { sha256: manifest.sha256, 'stored-sha256': manifest.storedSha256, 'backup-id': id },
  });
  o.logger.info({ id, dumpKey, bytes: manifest.storedBytes, encrypted: manifest.encryption !== null }, 'database backup written');
  return manifest;
}
