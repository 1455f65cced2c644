import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario } from '../types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 1024 * 1024;

/** Reads VmRSS/VmHWM (kB) of a live process: VmHWM is the kernel's peak resident set since the process started. */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

interface ServerChild {
  readonly child: ChildProcess;
  readonly port: number;
  /** Upload token for the tus endpoint (creating an upload requires one). */
  readonly token: string;
  stop(): Promise<void>;
}

async function startServer(mode: 'tus' | 'raw', dir: string): Promise<ServerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'ingest-server.ts'), '--mode', mode, '--dir', dir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const { port, token } = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ingest server exited (${code}) before listening`)));
    lines.once('line', (l) => resolve(JSON.parse(l) as { port: number; token: string }));
  });
  return {
    child,
    port,
    token,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function tusUpload(server: ServerChild, file: string, size: number, chunkSize: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(createReadStream(file), {
      endpoint: `http://127.0.0.1:${server.port}/uploads`,
      uploadSize: size,
      chunkSize,
      retryDelays: [],
      headers: { 'Upload-Token': server.token },
      metadata: { filename: 'bench.bin', title: 'bench' },
      onError: reject,
      onSuccess: () => resolve(path.basename(up.url ?? '')),
    });
    up.start();
  });
}

function rawPut(port: number, file: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'PUT', path: '/raw/bench.bin', headers: { 'content-length': size } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => (res.statusCode === 201 ? resolve((JSON.parse(body) as { bytes: number }).bytes) : reject(new Error(body))));
      },
    );
    req.on('error', reject);
    pipeline(createReadStream(file), req).catch(reject);
  });
}

/** One upload against a fresh child server: wall seconds, peak RSS and growth over the idle server. */
async function measureOnce(
  mode: 'tus' | 'raw',
  file: string,
  size: number,
  chunk: number,
  workDir: string,
): Promise<{ wall: number; peak: number; growth: number }> {
  const dir = await mkdtemp(path.join(workDir, `ingest-${mode}-`));
  const server = await startServer(mode, dir);
  try {
    const idle = await memoryOf(server.child.pid!);
    const t0 = performance.now();
    const stored =
      mode === 'tus'
        ? (await stat(path.join(dir, await tusUpload(server, file, size, chunk)))).size
        : await rawPut(server.port, file, size);
    const wall = (performance.now() - t0) / 1000;
    if (stored !== size) throw new Error(`${mode} stored ${stored} of ${size} bytes`);
    const mem = await memoryOf(server.child.pid!);
    return { wall, peak: mem.peakMiB, growth: mem.peakMiB - idle.rssMiB };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Incompressible payload written in 1 MiB blocks (never held in memory whole). */
async function makePayload(file: string, bytes: number): Promise<void> {
  async function* blocks(): AsyncGenerator<Buffer> {
    for (let left = bytes; left > 0; left -= MiB) yield randomBytes(Math.min(MiB, left));
  }
  await pipeline(Readable.from(blocks()), createWriteStream(file));
}

type Run = 'tus' | 'raw' | 'tus-small';

/**
 * Ingest: a tus upload over loopback vs a raw streamed PUT to disk, with the server's peak RSS. "Flat" is measured,
 * not eyeballed: the same tus server takes a smaller upload (1/8 of the size, at least two chunks) in the same run,
 * and RSS growth of the big upload over the small one must stay near 1 (a server that buffered would show ~8).
 */
export const ingestScenario: Scenario = {
  id: 'ingest',
  title: 'tus ingest vs raw HTTP PUT to disk, server peak RSS',
  async run(ctx) {
    const s = ctx.config.ingest;
    if (!s) return [];
    const dir = await mkdtemp(path.join(ctx.workDir, 'payload-'));
    try {
      // At least two chunks: below that, growth has not reached the plateau the GC settles on, whatever the design.
      const small = Math.min(s.bytes, Math.max(MiB, 2 * s.chunkBytes, Math.round(s.bytes / 8)));
      const files = { big: path.join(dir, 'payload.bin'), small: path.join(dir, 'small.bin') };
      await makePayload(files.big, s.bytes);
      await makePayload(files.small, small);
      const plan: ReadonlyArray<[Run, 'tus' | 'raw', string, number]> = [
        ['tus', 'tus', files.big, s.bytes],
        ['raw', 'raw', files.big, s.bytes],
        ['tus-small', 'tus', files.small, small],
      ];
      const r = new Map<Run, { wall: number[]; peak: number[]; growth: number[] }>(
        plan.map(([k]) => [k, { wall: [], peak: [], growth: [] }]),
      );
      for (let i = 1; i <= ctx.config.repeats; i++) {
        for (const [key, mode, file, bytes] of plan) {
          const m = await measureOnce(mode, file, bytes, s.chunkBytes, ctx.workDir);
          const acc = r.get(key)!;
          acc.wall.push(bytes / MiB / m.wall);
          acc.peak.push(m.peak);
          acc.growth.push(m.growth);
          ctx.progress.step(
            this.id,
            `${key} ${fmt(bytes / MiB)} MiB rep ${i}/${ctx.config.repeats}`,
            `${fmt(bytes / MiB / m.wall)} MiB/s, peak RSS ${fmt(m.peak)} MiB`,
          );
        }
      }
      const figs = new Map<Run, Figure[]>(
        plan.map(([key, mode, , bytes]) => {
          const acc = r.get(key)!;
          const params = { bytes, chunkBytes: s.chunkBytes, mode };
          const label = `${key} ${fmt(bytes / MiB)} MiB`;
          return [
            key,
            [
              {
                id: `ingest.${key}.throughput`,
                scenario: this.id,
                group: 'Ingest throughput',
                label,
                unit: 'MiB/s',
                stat: summarize(acc.wall),
                params,
              },
              {
                id: `ingest.${key}.peak-rss`,
                scenario: this.id,
                group: 'Ingest server peak RSS',
                label,
                unit: 'MiB',
                stat: summarize(acc.peak),
                params,
              },
              {
                id: `ingest.${key}.rss-growth`,
                scenario: this.id,
                group: 'Ingest server RSS growth during upload',
                label,
                unit: 'MiB',
                stat: summarize(acc.growth),
                params,
              },
            ],
          ];
        }),
      );
      const f = (k: Run, i: number): Figure => figs.get(k)![i]!;
      return [
        ...[...figs.values()].flat(),
        ratioFigure({
          id: 'ingest.tus-vs-raw',
          scenario: this.id,
          group: 'Ratios vs reference',
          label: 'ingest: tus / raw PUT throughput',
          numerator: f('tus', 0),
          denominator: f('raw', 0),
        }),
        ratioFigure({
          id: 'ingest.tus-rss-flatness',
          scenario: this.id,
          group: 'Ratios vs reference',
          label: `ingest: tus RSS growth, ${fmt(s.bytes / small)}× size / 1× size`,
          numerator: f('tus', 2),
          denominator: f('tus-small', 2),
          target: { op: '<=', value: 2 },
        }),
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
