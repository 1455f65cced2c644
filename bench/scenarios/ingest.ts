import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import { UPLOAD_PAGE_CHUNK_BYTES } from '../configs.ts';
import { fmt, ratioFigure, summarize } from '../stats.ts';
import type { Figure, Scenario, Unit } from '../types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 1024 * 1024;

/**
 * Reads VmRSS/VmHWM (kB) of a live process: VmHWM is the kernel's peak resident set since the process started, or
 * since resetPeak().
 */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** Restarts VmHWM at the current RSS (Linux ≥ 4.0, /proc/<pid>/clear_refs "5"); false where that is not allowed. */
export async function resetPeak(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(
    () => true,
    () => false,
  );
}

/** Warm-up upload before each measured one: enough 64 KiB socket reads and PATCHes for the JIT to settle. */
const WARMUP_BYTES = 16 * MiB;

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

/**
 * One upload against a fresh child server: wall seconds, peak RSS and growth over the idle server. The server first
 * takes one WARMUP_BYTES upload of the same kind, so the figure is a running server's (production servers live for
 * many uploads) and not V8 compiling the handler: the tus path has far more code to compile than a bare PUT, and a
 * cold process charged that to every measured upload. The peak is reset after the warm-up, so it is the measured
 * upload's.
 */
async function measureOnce(
  mode: 'tus' | 'raw',
  files: { readonly measured: string; readonly warmup: string },
  size: number,
  chunk: number,
  workDir: string,
): Promise<{ wall: number; peak: number; growth: number }> {
  const dir = await mkdtemp(path.join(workDir, `ingest-${mode}-`));
  const server = await startServer(mode, dir);
  const upload = async (file: string, bytes: number, chunkBytes: number): Promise<number> =>
    mode === 'tus'
      ? (await stat(path.join(dir, await tusUpload(server, file, bytes, chunkBytes)))).size
      : await rawPut(server.port, file, bytes);
  try {
    // Growth is counted from the fresh server, as without a warm-up: what the warm-up left behind (the heap grown
    // to its working size) is part of the cost of serving uploads, and keeps the flatness ratio's denominator clear
    // of noise.
    const idle = await memoryOf(server.child.pid!);
    // Two PATCHes at least, so the warm-up runs the same request sequence as the measured upload.
    await upload(files.warmup, WARMUP_BYTES, Math.min(chunk, WARMUP_BYTES / 2));
    await resetPeak(server.child.pid!);
    const t0 = performance.now();
    const stored = await upload(files.measured, size, chunk);
    const wall = (performance.now() - t0) / 1000;
    if (stored !== size) throw new Error(`${mode} stored ${stored} of ${size} bytes`);
    const mem = await memoryOf(server.child.pid!);
    return { wall, peak: mem.peakMiB, growth: mem.peakMiB - idle.rssMiB };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const MP4_FTYP = Buffer.from('000000186674797069736f6d0000020069736f6d6d703431', 'hex');

/**
 * Incompressible payload written in 1 MiB blocks (never held in memory whole), then synced: left dirty, the kernel
 * writes it back whenever it likes, i.e. during one of the measured uploads, and slows that one alone.
 */
async function makePayload(file: string, bytes: number): Promise<void> {
  async function* blocks(): AsyncGenerator<Buffer> {
    for (let left = bytes; left > 0; left -= MiB) {
      const block = randomBytes(Math.min(MiB, left));
      // Starts like an mp4 (an ftyp box): tus refuses a file whose first bytes match no video container.
      if (left === bytes) MP4_FTYP.copy(block, 0, 0, Math.min(block.length, MP4_FTYP.length));
      yield block;
    }
  }
  await pipeline(Readable.from(blocks()), createWriteStream(file));
  const handle = await open(file, 'r');
  await handle.sync().finally(() => handle.close());
}

type Run = 'tus' | 'raw' | 'tus-small' | 'tus-page';

interface PlannedRun {
  readonly key: Run;
  readonly mode: 'tus' | 'raw';
  readonly file: string;
  readonly bytes: number;
  readonly chunk: number;
}

interface Samples {
  readonly wall: number[];
  readonly peak: number[];
  readonly growth: number[];
}

/** Throughput, peak RSS and RSS growth of one planned run. */
function runFigures(scenario: string, run: PlannedRun, acc: Samples): Figure[] {
  const params = { bytes: run.bytes, chunkBytes: run.chunk, mode: run.mode };
  const label = `${run.key} ${fmt(run.bytes / MiB)} MiB`;
  const figure = (what: string, group: string, unit: Unit, samples: number[]): Figure => ({
    id: `ingest.${run.key}.${what}`,
    scenario,
    group,
    label,
    unit,
    stat: summarize(samples),
    params,
  });
  return [
    figure('throughput', 'Ingest throughput', 'MiB/s', acc.wall),
    figure('peak-rss', 'Ingest server peak RSS', 'MiB', acc.peak),
    figure('rss-growth', 'Ingest server RSS growth during upload', 'MiB', acc.growth),
  ];
}

/**
 * Ingest: a tus upload over loopback vs a raw streamed PUT to disk, with the server's peak RSS. "Flat" is measured,
 * not eyeballed: the same tus server takes a smaller upload (1/8 of the size, at least two chunks) in the same run,
 * and RSS growth of the big upload over the small one must stay near 1 (a server that buffered would show ~8).
 * The big upload is also sent in the upload page's chunks (UPLOAD_PAGE_CHUNK_BYTES), unless that is the configured
 * size: every PATCH costs a request, so this is what browsers get.
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
      const files = { big: path.join(dir, 'payload.bin'), small: path.join(dir, 'small.bin'), warmup: path.join(dir, 'warmup.bin') };
      await makePayload(files.big, s.bytes);
      await makePayload(files.small, small);
      await makePayload(files.warmup, WARMUP_BYTES);
      const plan: PlannedRun[] = [
        { key: 'tus', mode: 'tus', file: files.big, bytes: s.bytes, chunk: s.chunkBytes },
        { key: 'raw', mode: 'raw', file: files.big, bytes: s.bytes, chunk: s.chunkBytes },
        { key: 'tus-small', mode: 'tus', file: files.small, bytes: small, chunk: s.chunkBytes },
      ];
      if (s.chunkBytes !== UPLOAD_PAGE_CHUNK_BYTES) {
        plan.push({ key: 'tus-page', mode: 'tus', file: files.big, bytes: s.bytes, chunk: UPLOAD_PAGE_CHUNK_BYTES });
      }
      const r = new Map<Run, Samples>(plan.map((p) => [p.key, { wall: [], peak: [], growth: [] }]));
      for (let i = 1; i <= ctx.config.repeats; i++) {
        for (const p of plan) {
          const m = await measureOnce(p.mode, { measured: p.file, warmup: files.warmup }, p.bytes, p.chunk, ctx.workDir);
          const acc = r.get(p.key)!;
          acc.wall.push(p.bytes / MiB / m.wall);
          acc.peak.push(m.peak);
          acc.growth.push(m.growth);
          const what = `${p.key} ${fmt(p.bytes / MiB)} MiB rep ${i}/${ctx.config.repeats}`;
          ctx.progress.step(this.id, what, `${fmt(p.bytes / MiB / m.wall)} MiB/s, peak RSS ${fmt(m.peak)} MiB`);
        }
      }
      const figs = new Map<Run, Figure[]>(plan.map((p) => [p.key, runFigures(this.id, p, r.get(p.key)!)]));
      return [...[...figs.values()].flat(), ...ratioFigures(this.id, figs, s.bytes / small, s.chunkBytes)];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/**
 * The targets: tus at ≥ 0.9× a raw PUT's throughput, RSS growth flat in the upload's size; and, without a target,
 * tus in the upload page's chunks against the same PUT.
 */
function ratioFigures(scenario: string, figs: ReadonlyMap<Run, Figure[]>, sizeRatio: number, chunk: number): Figure[] {
  const f = (k: Run, i: number): Figure => figs.get(k)![i]!;
  const out = [
    ratioFigure({
      id: 'ingest.tus-vs-raw',
      scenario,
      group: 'Ratios vs reference',
      label: `ingest: tus (${fmt(chunk / MiB)} MiB chunks) / raw PUT throughput`,
      numerator: f('tus', 0),
      denominator: f('raw', 0),
      target: { op: '>=', value: 0.9 },
    }),
    ratioFigure({
      id: 'ingest.tus-rss-flatness',
      scenario,
      group: 'Ratios vs reference',
      label: `ingest: tus RSS growth, ${fmt(sizeRatio)}× size / 1× size`,
      numerator: f('tus', 2),
      denominator: f('tus-small', 2),
      target: { op: '<=', value: 2 },
    }),
  ];
  if (!figs.has('tus-page')) return out;
  return [
    ...out,
    ratioFigure({
      id: 'ingest.tus-page-vs-raw',
      scenario,
      group: 'Ratios vs reference',
      label: `ingest: tus in the upload page's ${fmt(UPLOAD_PAGE_CHUNK_BYTES / MiB)} MiB chunks / raw PUT throughput`,
      numerator: f('tus-page', 0),
      denominator: f('raw', 0),
    }),
  ];
}
