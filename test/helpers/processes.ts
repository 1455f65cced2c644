import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One pino line as the service prints it. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export interface ServiceProcess {
  readonly role: 'api' | 'worker';
  /** Base URL (API only), known once started. */
  readonly url: string | undefined;
  /** Every JSON log line printed so far, in order. */
  readonly logs: readonly LogLine[];
  readonly pid: number | undefined;
  /** Resolves with the first log line (from now on or already printed) that matches. */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface StartServiceOptions {
  /**
   * Directories the process must not see, as on another host: it runs in a mount namespace of its own (unshare, needs
   * root) with an empty tmpfs mounted over each. Default none.
   */
  readonly hide?: readonly string[];
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** argv that runs `argv` with `hide` covered by empty tmpfs mounts in a private mount namespace. */
export function hiddenFrom(hide: readonly string[], argv: readonly string[]): string[] {
  const mounts = hide.map((d) => `mount -t tmpfs tmpfs ${quote(d)}`).join(' && ');
  // `exec` keeps the pid: the process the caller spawned is node itself, so signals reach it directly.
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${mounts} && exec "$0" "$@"`, ...argv];
}

/**
 * Runs `ops/main.ts --role <role>` as its own process with `env` (the way production runs it) and resolves when it
 * logged "started". Lines that are not JSON (stack traces) are kept as `{ msg: <text> }`.
 */
export async function startService(
  role: 'api' | 'worker',
  env: Record<string, string>,
  timeoutMs = 60_000,
  o: StartServiceOptions = {},
): Promise<ServiceProcess> {
  const node = [process.execPath, '--import', 'tsx', path.join(ROOT, 'ops', 'main.ts'), '--role', role];
  const [cmd, ...args] = o.hide?.length ? hiddenFrom(o.hide, node) : node;
  const child = spawn(cmd!, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  const push = (l: LogLine): void => {
    logs.push(l);
    for (const w of [...waiters])
      if (w.match(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
  };
  const lines = (stream: NodeJS.ReadableStream): void => {
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          push(JSON.parse(line) as LogLine);
        } catch {
          push({ msg: line });
        }
      }
    });
  };
  lines(child.stdout!);
  lines(child.stderr!);
  const waitForLog = (match: (l: LogLine) => boolean, what: string, ms = 60_000): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${role}: timed out waiting for ${what}; last lines: ${JSON.stringify(logs.slice(-5))}`)),
        ms,
      );
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  };
  const started = waitForLog((l) => l.msg === 'started', `${role} started`, timeoutMs);
  const died = exited(child).then(() => {
    throw new Error(`${role} exited before it started: ${JSON.stringify(logs.slice(-5))}`);
  });
  const line = await Promise.race([started, died]);
  const url = typeof line['url'] === 'string' ? line['url'] : undefined;
  return {
    role,
    logs,
    pid: child.pid,
    waitForLog,
    url,
    kill: async (signal = 'SIGTERM') => {
      child.kill(signal);
      await exited(child);
    },
  };
}
