import { createCipheriv, createDecipheriv, createHash, randomBytes, type DecipherGCM } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Transform, type Readable } from 'node:stream';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';

/**
 * On-archive format of database backups, shared by ops/backup.ts and ops/restore-db.ts.
 * Encrypted dumps are `MAGIC ‖ version ‖ iv(12) ‖ AES-256-GCM ciphertext ‖ tag(16)`; the header is the GCM AAD, so a
 * swapped header fails authentication like altered ciphertext does.
 */
export const MAGIC = Buffer.from('KSBACKUP', 'ascii');
export const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const HEADER_BYTES = MAGIC.length + 1 + IV_BYTES;

export const ManifestSchema = z.object({
  format: z.literal('kidstream-db-backup/1'),
  id: z.string(),
  createdAt: z.string(),
  /** Database name only; credentials never reach the archive. */
  database: z.string(),
  /** `pg_dump --version` output, so a restore can pick a matching pg_restore. */
  tool: z.string(),
  dumpKey: z.string(),
  /** sha256 (hex) and size of the plain pg_dump custom-format file. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().nonnegative(),
  /** sha256 and size of the bytes as stored (differs from the above when encrypted). */
  storedSha256: z.string().regex(/^[0-9a-f]{64}$/),
  storedBytes: z.number().int().nonnegative(),
  encryption: z.object({ algorithm: z.literal('aes-256-gcm'), keyId: z.string() }).nullable(),
});
export type BackupManifest = z.infer<typeof ManifestSchema>;

/** Names a key without revealing it: lets an operator see which key a backup needs after a rotation. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('kidstream-backup-key-id:').update(key).digest('hex').slice(0, 16);
}

/** Streaming AES-256-GCM encryption: header first, tag appended at the end. */
export function encryptStream(key: Buffer): Transform {
  const iv = randomBytes(IV_BYTES);
  const header = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION]), iv]);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(header);
  let wroteHeader = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const out = cipher.update(chunk);
      if (!wroteHeader) {
        wroteHeader = true;
        cb(null, Buffer.concat([header, out]));
      } else cb(null, out);
    },
    flush(cb) {
      const final = cipher.final();
      cb(null, Buffer.concat([wroteHeader ? Buffer.alloc(0) : header, final, cipher.getAuthTag()]));
    },
  });
}

/**
 * Streaming decryption. GCM only authenticates at the end, so callers must not act on the plaintext before the stream
 * finished without error (restore-db writes it to a temp file and restores only after that).
 */
export function decryptStream(key: Buffer): Transform {
  let head = Buffer.alloc(0);
  let decipher: DecipherGCM | undefined;
  let held = Buffer.alloc(0); // the last TAG_BYTES seen: they may be the tag
  const corrupt = (detail: string): PipelineError => new PipelineError('OPS_BACKUP_CHECKSUM_MISMATCH', detail);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!decipher) {
        head = Buffer.concat([head, chunk]);
        if (head.length < HEADER_BYTES) return cb();
        const header = head.subarray(0, HEADER_BYTES);
        if (!header.subarray(0, MAGIC.length).equals(MAGIC) || header[MAGIC.length] !== FORMAT_VERSION) {
          return cb(corrupt('Not an encrypted kidstream backup (bad header).'));
        }
        decipher = createDecipheriv('aes-256-gcm', key, header.subarray(MAGIC.length + 1));
        decipher.setAAD(header);
        chunk = head.subarray(HEADER_BYTES);
      }
      const all = Buffer.concat([held, chunk]);
      const cut = Math.max(0, all.length - TAG_BYTES);
      held = all.subarray(cut);
      cb(null, decipher.update(all.subarray(0, cut)));
    },
    flush(cb) {
      if (!decipher || held.length < TAG_BYTES) return cb(corrupt('Encrypted backup is truncated.'));
      decipher.setAuthTag(held);
      try {
        cb(null, decipher.final());
      } catch (err) {
        cb(new PipelineError('OPS_BACKUP_CHECKSUM_MISMATCH', 'Authentication tag does not match.', {}, { cause: err }));
      }
    },
  });
}

export interface SpawnedTool {
  readonly stdout: Readable;
  /** Resolves on exit code 0; rejects with `code` and the stderr tail otherwise. */
  readonly done: Promise<void>;
}

/** Spawns a PostgreSQL client tool (no stdin); its stderr tail goes into the error. */
export function spawnTool(bin: string, args: readonly string[], code: 'OPS_BACKUP_FAILED' | 'OPS_RESTORE_FAILED'): SpawnedTool {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const { stdout, stderr: errStream } = child;
  if (!stdout || !errStream) throw new PipelineError(code, `${bin} has no stdout/stderr pipes.`, { bin });
  let stderr = '';
  errStream.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new PipelineError(code, `${bin} could not start.`, { bin }, { cause: err })));
    child.once('close', (exit, signal) => {
      if (exit === 0) resolve();
      else reject(new PipelineError(code, `${bin} exited with ${exit ?? signal}.`, { bin, stderrTail: stderr }));
    });
  });
  return { stdout, done };
}

/** Database name from a postgres URL, without user or password. */
export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}
