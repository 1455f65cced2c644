/**
 * `npm run bench [-- --quick] [options]`: runs the benchmark suite, prints a table and a capacity estimate, writes
 * JSON + SVG into bench/results/. Options (all optional):
 *   --quick                     CI smoke subset (< 2 min on 2 cores; asserts nothing about speed)
 *   --only a,b                  scenario ids (transcode-compare, transcode-presets, transcode-scaling, ingest, time-to-playable, end-to-end, scale-out, analytics, watermark)
 *   --repeats N                 repeats per figure (quick 2, full 3)
 *   --runner NAME               pipeline implementation to time (bench/methods.ts PIPELINE_RUNNERS; default pipeline)
 *   --preset P                  x264 preset of the comparison/scaling runs (default veryfast)
 *   --ingest-mib N              ingest upload size (quick 48, full 1024)
 *   --service-log FILE          append the end-to-end service's log lines (JSON) to FILE
 *   --e2e a,b                   end-to-end source ids to run (default all of the mode, e.g. 1080p30-grain-30s)
 *   --scale-out-sec S --scale-out-chunk-sec C   scale-out source length and chunk length (full: 600 s, 60 s chunks)
 *   --ingest-chunk-mib N        tus chunk size of the ingest upload (default: the upload page's, see configs.ts)
 *   --out DIR                   results directory (default bench/results)
 *   --target-cores N --target-threads N   box to size for (default AX42: 6 / 12)
 *   --smt-yield F --per-core-speed F --utilisation F
 *   --backlog-hours H --clear-within-hours H --incoming-hours-per-day H --video-minutes M
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.ts';
import { DEFAULT_CAPACITY, runBench, type CapacityOptions } from './bench.ts';
import { fullConfig, quickConfig } from './configs.ts';
import { formatCapacity, formatTable, writeReport } from './report.ts';
import { sourceId, type SourceSpec } from './sources.ts';
import type { BenchConfig } from './types.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${v}`);
  return n;
}

/** The end-to-end sources named in `--e2e` (ids as in the report), all of them without it. */
function selectE2e(all: readonly SourceSpec[], ids: string | undefined): readonly SourceSpec[] {
  if (!ids) return all;
  const wanted = ids.split(',');
  const unknown = wanted.filter((id) => !all.some((s) => sourceId(s) === id));
  if (unknown.length) throw new Error(`Unknown --e2e source(s) ${unknown.join(', ')}; known: ${all.map(sourceId).join(', ')}`);
  return all.filter((s) => wanted.includes(sourceId(s)));
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: Object.fromEntries([
      ['quick', { type: 'boolean', default: false }],
      ...[
        'only',
        'repeats',
        'runner',
        'preset',
        'ingest-mib',
        'e2e',
        'scale-out-sec',
        'scale-out-chunk-sec',
        'service-log',
        'ingest-chunk-mib',
        'out',
        'target-cores',
        'target-threads',
        'smt-yield',
        'per-core-speed',
        'utilisation',
        'backlog-hours',
        'clear-within-hours',
        'incoming-hours-per-day',
        'video-minutes',
      ].map((k) => [k, { type: 'string' }]),
    ]) as Record<string, { type: 'string' } | { type: 'boolean'; default: boolean }>,
  });
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const base = v['quick'] === true ? quickConfig() : fullConfig();
  const ingestMib = num(str('ingest-mib'), 'ingest-mib');
  const chunkMib = num(str('ingest-chunk-mib'), 'ingest-chunk-mib');
  const config: BenchConfig = {
    ...base,
    repeats: num(str('repeats'), 'repeats') ?? base.repeats,
    preset: str('preset') ?? base.preset,
    ...(str('runner') ? { runner: str('runner')! } : {}),
    ...(str('only') ? { only: str('only')!.split(',') } : {}),
    ingest: base.ingest && {
      bytes: ingestMib ? Math.round(ingestMib * 1024 * 1024) : base.ingest.bytes,
      chunkBytes: chunkMib ? Math.round(chunkMib * 1024 * 1024) : base.ingest.chunkBytes,
    },
    e2eSources: selectE2e(base.e2eSources, str('e2e')),
    scaleOut: base.scaleOut && {
      source: { ...base.scaleOut.source, durationSec: num(str('scale-out-sec'), 'scale-out-sec') ?? base.scaleOut.source.durationSec },
      chunkSec: num(str('scale-out-chunk-sec'), 'scale-out-chunk-sec') ?? base.scaleOut.chunkSec,
    },
    ...(str('service-log') ? { serviceLog: path.resolve(str('service-log')!) } : {}),
  };
  const capacity: CapacityOptions = {
    targetCores: num(str('target-cores'), 'target-cores') ?? DEFAULT_CAPACITY.targetCores,
    targetThreads: num(str('target-threads'), 'target-threads') ?? DEFAULT_CAPACITY.targetThreads,
    smtYield: num(str('smt-yield'), 'smt-yield') ?? DEFAULT_CAPACITY.smtYield,
    perCoreSpeed: num(str('per-core-speed'), 'per-core-speed') ?? DEFAULT_CAPACITY.perCoreSpeed,
    utilisation: num(str('utilisation'), 'utilisation') ?? DEFAULT_CAPACITY.utilisation,
    backlogHours: num(str('backlog-hours'), 'backlog-hours') ?? DEFAULT_CAPACITY.backlogHours,
    clearWithinHours: num(str('clear-within-hours'), 'clear-within-hours') ?? DEFAULT_CAPACITY.clearWithinHours,
    incomingHoursPerDay: Number(str('incoming-hours-per-day') ?? DEFAULT_CAPACITY.incomingHoursPerDay),
    videoMinutes: num(str('video-minutes'), 'video-minutes') ?? DEFAULT_CAPACITY.videoMinutes,
  };
  // Scratch space of the run, removed even on Ctrl-C (ffmpeg children get the same SIGINT from the terminal).
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'ks-bench-run-'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      rmSync(tmpDir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const report = await runBench({ config, capacity, sourcesDir: path.join(HERE, '.cache', 'sources'), tmpDir }).finally(() =>
    rmSync(tmpDir, { recursive: true, force: true }),
  );
  const out = await writeReport(str('out') ?? path.join(HERE, 'results'), report);
  console.log(`\n${formatTable(report.figures)}\n`);
  if (report.sizing) console.log(`Sizing: ${report.sizing.rule}\n`);
  if (report.capacity) console.log(`${formatCapacity(report.capacity)}\n`);
  for (const n of report.notes) console.log(`note: ${n}`);
  console.log(`results: ${out.json}\nchart:   ${out.svg}`);
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
