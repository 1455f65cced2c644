import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pingClamd } from '../ingest/scan.ts';

const run = promisify(execFile);

/*
 * A clamd of our own for tests, benchmarks and development machines: a one-signature database made on the spot
 * (sigtool --md5 of EICAR), because signature downloads are not always possible (air-gapped boxes, CI). Production
 * uses the system clamd with real signatures (CLAMD_SOCKET / CLAMD_HOST).
 */

/** The EICAR test string: harmless, and every antivirus reports it (here via the md5 signature we generate). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/**
 * EICAR behind an mp4 `ftyp` box: the upload endpoint refuses the bare string on its first bytes (not a video), so a
 * test of the scan itself uploads this. The database flags it under the same signature name as EICAR.
 */
export const EICAR_IN_MP4: Buffer = Buffer.concat([
  Buffer.from('000000186674797069736f6d0000020069736f6d6d703431', 'hex'),
  Buffer.from(EICAR),
]);

export interface DevClamd {
  /** Unix socket clamd listens on (CLAMD_SOCKET). */
  readonly socket: string;
  readonly dir: string;
  /** Signature name clamd reports for EICAR (from the generated .hdb: the file name we signed). */
  readonly eicarSignature: string;
  /** Stops clamd (SIGTERM, SIGKILL after 5 s) and deletes its directory. Idempotent. */
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Writes the config and a one-signature database (sigtool --md5 of the EICAR file) into `dir`. */
export async function prepareClamdDir(dir: string, socket: string): Promise<string> {
  const sample = path.join(dir, 'eicar-test');
  await writeFile(sample, EICAR);
  const { stdout } = await run('sigtool', ['--md5', sample]);
  // An .hdb line is md5:size:name; the name is the sample's file name, as sigtool writes it.
  const inMp4 = `${createHash('md5').update(EICAR_IN_MP4).digest('hex')}:${EICAR_IN_MP4.length}:eicar-test\n`;
  await writeFile(path.join(dir, 'test.hdb'), stdout + inMp4);
  const conf = path.join(dir, 'clamd.conf');
  await writeFile(
    conf,
    [
      `DatabaseDirectory ${dir}`,
      `LocalSocket ${socket}`,
      'Foreground yes',
      `PidFile ${path.join(dir, 'clamd.pid')}`,
      // As large as clamd allows (< 4 GiB): a file over the limit is refused (INGEST_SCAN_FAILED) or scanned only in
      // part, and the benchmarks upload sources of several hundred MB. Production sets these in ops/setup.sh.
      'StreamMaxLength 4000M',
      'MaxFileSize 4000M',
      'MaxScanSize 4000M',
      'LogTime no',
      `LogFile ${path.join(dir, 'clamd.log')}`,
      '',
    ].join('\n'),
  );
  return conf;
}

/** Starts a clamd of our own (never the system service, no freshclam) and waits until it answers PING. */
export async function startDevClamd(opts: { socket?: string; dir?: string } = {}): Promise<DevClamd> {
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'ks-clamd-')));
  await mkdir(dir, { recursive: true });
  const socket = opts.socket ?? path.join(dir, 'clamd.sock');
  const conf = await prepareClamdDir(dir, socket);
  const child = spawn('clamd', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 5000))) child.kill('SIGKILL');
      await waitExit(child, 5000);
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await pingClamd({ socket, timeoutMs: 2000 });
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`clamd did not start: ${stderr}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { socket, dir, eicarSignature: 'eicar-test.UNOFFICIAL', stop };
}
