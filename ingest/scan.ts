import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PipelineError } from '../core/errors.ts';

export interface ClamdOptions {
  /** Unix socket of clamd (LocalSocket); wins over host/port when set. */
  readonly socket?: string;
  /** TCP address of clamd (TCPAddr/TCPSocket); default 127.0.0.1:3310. */
  readonly host?: string;
  readonly port?: number;
  /** Idle timeout of the connection in ms; default 120 000. */
  readonly timeoutMs?: number;
}

export type ScanVerdict = { readonly infected: false } | { readonly infected: true; readonly signature: string };

export interface ScanResult {
  readonly verdict: ScanVerdict;
  /** sha256 (hex) of the bytes clamd saw, computed in the same single read of the file. */
  readonly sha256: string;
  readonly bytes: number;
}

function connect(o: ClamdOptions): Promise<net.Socket> {
  const where = o.socket ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 3310}`;
  return new Promise((resolve, reject) => {
    const s = o.socket
      ? net.createConnection({ path: o.socket })
      : net.createConnection({ host: o.host ?? '127.0.0.1', port: o.port ?? 3310 });
    const onError = (err: Error): void => {
      s.destroy();
      reject(
        new PipelineError('INGEST_SCAN_UNAVAILABLE', `Cannot connect to clamd at ${where}.`, { where, phase: 'connect' }, { cause: err }),
      );
    };
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      s.setTimeout(o.timeoutMs ?? 120_000, () => s.destroy(new Error(`clamd idle for ${o.timeoutMs ?? 120_000} ms`)));
      resolve(s);
    });
  });
}

/** Collects clamd's reply: z-commands end it with NUL; clamd may also just close the connection. */
function readReply(s: net.Socket): Promise<{ text: string; error: Error | undefined }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (error?: Error): void => resolve({ text: Buffer.concat(chunks).toString('utf8').replace(/\0/g, '').trim(), error });
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (c.includes(0)) done();
    });
    s.once('end', () => done());
    s.once('close', () => done());
    s.once('error', (err) => done(err));
  });
}

/** PING → PONG; throws INGEST_SCAN_UNAVAILABLE when clamd does not answer. */
export async function pingClamd(o: ClamdOptions): Promise<void> {
  const s = await connect(o);
  try {
    const reply = readReply(s);
    s.write('zPING\0');
    const { text, error } = await reply;
    if (text !== 'PONG')
      throw new PipelineError('INGEST_SCAN_UNAVAILABLE', `clamd answered "${text}" to PING.`, { phase: 'ping' }, { cause: error });
  } finally {
    s.destroy();
  }
}

/** INSTREAM framing: each chunk as <uint32 big-endian length><bytes>, a zero length ends the stream. */
function framer(onChunk: (c: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onChunk(chunk);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(chunk.length);
      this.push(len);
      cb(null, chunk);
    },
    flush(cb) {
      cb(null, Buffer.alloc(4));
    },
  });
}

/**
 * Streams `file` to clamd with INSTREAM (clamd needs no access to our disk) and hashes it on the way. Backpressure
 * holds: the file is read only as fast as clamd takes it, so memory stays flat for any size. Unreachable or lost
 * clamd → INGEST_SCAN_UNAVAILABLE (the job waits for clamd); an ERROR reply → INGEST_SCAN_FAILED. Never "clean" by default.
 */
export async function scanFile(file: string, o: ClamdOptions): Promise<ScanResult> {
  const s = await connect(o);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const reply = readReply(s);
    s.write('zINSTREAM\0');
    const sent = await pipeline(
      createReadStream(file),
      framer((c) => {
        hash.update(c);
        bytes += c.length;
      }),
      s,
      { end: false },
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    const { text, error } = await reply;
    const found = /^stream: (.+) FOUND$/.exec(text);
    if (found && found[1]) return { verdict: { infected: true, signature: found[1] }, sha256: hash.digest('hex'), bytes };
    if (text === 'stream: OK' && sent === undefined) return { verdict: { infected: false }, sha256: hash.digest('hex'), bytes };
    if (text.endsWith('ERROR')) throw new PipelineError('INGEST_SCAN_FAILED', `clamd: ${text}`, { reply: text });
    // phase 'scan': clamd went away while reading this file. That may be the file's doing (one that crashes clamd),
    // so the job spends an attempt on it instead of waiting for clamd forever (pipeline/outage.ts).
    throw new PipelineError(
      'INGEST_SCAN_UNAVAILABLE',
      `clamd connection ended without a verdict ("${text}").`,
      { reply: text, phase: 'scan' },
      {
        cause: sent ?? error,
      },
    );
  } finally {
    s.destroy();
  }
}

/**
 * Moves an infected file out of the upload area into `dir` as `name`, readable only by the owner. rename() when on
 * the same filesystem, copy + delete otherwise; the original path no longer exists afterwards.
 */
export async function quarantineFile(src: string, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dest = path.join(dir, path.basename(name));
  try {
    await rename(src, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(src, dest);
    await rm(src, { force: true });
  }
  await chmod(dest, 0o400);
  return dest;
}
