import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A TCP port nobody listens on right now (bound once, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntil(ok: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const answers = (cmd: string, args: string[]): Promise<boolean> =>
  run(cmd, args, { timeout: 5000 }).then(
    () => true,
    () => false,
  );

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SHUTDOWN NOSAVE): with persistence off, everything in it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Idempotent: stops it and removes its directory. */
  close(): Promise<void>;
}

/** A redis-server of this test's own on a free port, configured like ops/setup.sh unless `persistent` is false. */
export async function startPrivateRedis(o: { persistent?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-redis-'));
  const persistence = o.persistent === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'everysec'];
  const ping = (): Promise<boolean> => answers('redis-cli', ['-p', String(port), 'ping']);
  const start = async (): Promise<void> => {
    await run('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      ...persistence,
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dir,
      '--logfile',
      path.join(dir, 'redis.log'),
      '--pidfile',
      path.join(dir, 'redis.pid'),
    ]);
    await waitUntil(ping, `redis on ${port}`);
  };
  const stop = async (): Promise<void> => {
    await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => undefined);
    await waitUntil(async () => !(await ping()), `redis on ${port} to stop`);
  };
  await start();
  let closing: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    close: () => (closing ??= stop().then(() => rm(dir, { recursive: true, force: true }))),
  };
}

export interface PrivatePostgres {
  /** Admin URL (database `postgres`, user postgres, trust auth over loopback). */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop -m fast`: connections are cut, the data stays. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function pgBin(name: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1']);
  return path.join(stdout.trim(), name);
}

/** A PostgreSQL cluster of this test's own (initdb + pg_ctl as the postgres user) on a free port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-pg-'));
  const data = path.join(dir, 'data');
  const [initdb, pgCtl] = await Promise.all([pgBin('initdb'), pgBin('pg_ctl')]);
  // initdb and postgres refuse to run as root; the Debian package's postgres user owns the cluster.
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 60_000 });
  await chown(dir, await uidOf('postgres'), await gidOf('postgres'));
  await asPostgres(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = async (): Promise<void> => {
    await asPostgres(pgCtl, ['-D', data, '-o', opts, '-l', path.join(dir, 'pg.log'), '-w', 'start']);
  };
  const stop = async (): Promise<void> => {
    await asPostgres(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };
  await start();
  let closing: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    close: () => (closing ??= stop().then(() => rm(dir, { recursive: true, force: true }))),
  };
}

async function uidOf(user: string): Promise<number> {
  return Number((await run('id', ['-u', user])).stdout.trim());
}
async function gidOf(user: string): Promise<number> {
  return Number((await run('id', ['-g', user])).stdout.trim());
}
