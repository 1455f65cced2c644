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
  stop(): Promise<void>;
}

async function startServer(mode: 'tus' | 'raw', dir: string): Promise<ServerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'ingest-server.ts'), '--mode', mode, '--dir', dir], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ingest server exited (${code}) before listening`)));
    lines.once('line', (l) => resolve((JSON.parse(l) as { port: number }).port));
  });
  return { child, port, stop: async () => {
    child.kill('SIGTERM');
    await exited;
  } };
}

function tusUpload(port: number, file: string, size: number, chunkSize: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(createReadStream(file), {
      endpoint: `http://127.0.0.1:${port}/uploads`, uploadSize: size, chunkSize, retryDelays: [],
      metadata: { filename: 'bench.bin', title: 'bench' },
      onError: reject,
      onSuccess: () => resolve(path.basename(up.url ?? '')),
    });
    up.start();
  });
}

function rawPut(port: number, file: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/raw/bench.bin', headers: { 'content-length': size } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 201 ? resolve((JSON.parse(body) as { bytes: number }).bytes) : reject(new Error(body))));
    });
    req.on('error', reject);
    pipeline(createReadStream(file), req).catch(reject);
  });
}

/** One upload against a fresh child server: wall seconds, peak RSS and growth over the idle server. */
async function measureOnce(mode: 'tus' | 'raw', file: string, size: number, chunk: number, workDir: string): Promise<{ wall: number; peak: number; growth: number }> {
  const dir = await mkdtemp(path.join(workDir, `ingest-${mode}-`));
  const server = await startServer(mode, dir);
  try {
    const idle = await memoryOf(server.child.pid!);
    const t0 = performance.now();
    const stored = mode === 'tus'
      ? (await stat(path.join(dir, await tusUpload(server.port, file, size, chunk)))).size
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

/** Issue 3: a tus upload over loopback vs a raw streamed PUT to disk, with the server's peak RSS. */
export const ingestScenario: Scenario = {
  id: 'ingest',
  title: 'tus ingest vs raw HTTP PUT to disk, server peak RSS',
  async run(ctx) {
    const s = ctx.config.ingest;
    if (!s) return [];
    const dir = await mkdtemp(path.join(ctx.workDir, 'payload-'));
    try {
      const file = path.join(dir, 'payload.bin');
      await makePayload(file, s.bytes);
      const r = { tus: { wall: [] as number[], peak: [] as number[], growth: [] as number[] }, raw: { wall: [] as number[], peak: [] as number[], growth: [] as number[] } };
      for (let i = 1; i <= ctx.config.repeats; i++) {
        for (const mode of ['tus', 'raw'] as const) {
          const m = await measureOnce(mode, file, s.bytes, s.chunkBytes, ctx.workDir);
          r[mode].wall.push(m.wall);
          r[mode].peak.push(m.peak);
          r[mode].growth.push(m.growth);
          ctx.progress.step(this.id, `${mode} ${fmt(s.bytes / MiB)} MiB rep ${i}/${ctx.config.repeats}`, `${fmt(s.bytes / MiB / m.wall)} MiB/s, peak RSS ${fmt(m.peak)} MiB`);
        }
      }
      const params = { bytes: s.bytes, chunkBytes: s.chunkBytes };
      const figs = (mode: 'tus' | 'raw'): Figure[] => [
        { id: `ingest.${mode}.throughput`, scenario: this.id, group: 'Ingest throughput', label: mode, unit: 'MiB/s', stat: summarize(r[mode].wall.map((w) => s.bytes / MiB / w)), params: { ...params, mode } },
        { id: `ingest.${mode}.peak-rss`, scenario: this.id, group: 'Ingest server peak RSS', label: mode, unit: 'MiB', stat: summarize(r[mode].peak), params: { ...params, mode } },
        { id: `ingest.${mode}.rss-growth`, scenario: this.id, group: 'Ingest server RSS growth during upload', label: mode, unit: 'MiB', stat: summarize(r[mode].growth), params: { ...params, mode } },
      ];
      const tusF = figs('tus');
      const rawF = figs('raw');
      return [...tusF, ...rawF,
        ratioFigure({ id: 'ingest.tus-vs-raw', scenario: this.id, group: 'Ratios vs reference', label: 'ingest: tus / raw PUT throughput', numerator: tusF[0]!, denominator: rawF[0]!, params }),
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
