import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CapacityEstimate } from './capacity.ts';
import type { SizingChoice } from './sizing.ts';
import type { MachineInfo } from './machine.ts';
import { fmt } from './stats.ts';
import { panelsFromFigures, renderSvg } from './svg.ts';
import type { BenchConfig, Figure } from './types.ts';

const StatSchema = z.object({
  min: z.number(),
  median: z.number(),
  max: z.number(),
  mean: z.number(),
  n: z.number().int().positive(),
  samples: z.array(z.number()),
});
export const FigureSchema = z.object({
  id: z.string().min(1),
  scenario: z.string().min(1),
  group: z.string().min(1),
  label: z.string().min(1),
  unit: z.enum(['s', 'ms', 'req/s', 'fps', 'x realtime', 'MiB/s', 'MiB', 'ratio']),
  stat: StatSchema,
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  reference: z.string().optional(),
  target: z.object({ op: z.enum(['<=', '>=']), value: z.number() }).optional(),
  meetsTarget: z.boolean().optional(),
});

const GridPointSchema = z.object({ jobs: z.number(), threadsPerJob: z.number(), xrt: z.number() });
const SizingSchema = z.object({
  best: GridPointSchema,
  chosen: GridPointSchema,
  jobsPerThread: z.number(),
  target: z.object({ workerConcurrency: z.number().int().positive(), ffmpegThreads: z.number().int().min(0) }),
  rule: z.string(),
});

const CapacitySchema = z.object({
  input: z.object({
    measuredXRealtime: z.number(),
    basis: z.string(),
    machineThreads: z.number(),
    machineCores: z.number(),
    targetCores: z.number(),
    targetThreads: z.number(),
    smtYield: z.number(),
    perCoreSpeed: z.number(),
    utilisation: z.number(),
    backlogHours: z.number(),
    clearWithinHours: z.number(),
    incomingHoursPerDay: z.number(),
    videoMinutes: z.number(),
    addedHostYield: z.number().optional(),
  }),
  machineCoreEquivalents: z.number(),
  targetCoreEquivalents: z.number(),
  scale: z.number(),
  targetXRealtime: z.number(),
  hoursPerDayPerHost: z.number(),
  videosPerHourPerHost: z.number(),
  requiredHoursPerDay: z.number(),
  hostsNeeded: z.number().int().positive(),
  note: z.string(),
});

/** The JSON written to bench/results/: versioned so later runs can be compared. */
export const BenchReportSchema = z.object({
  schema: z.literal('kidstream-bench/1'),
  mode: z.enum(['quick', 'full', 'custom']),
  startedAt: z.string(),
  finishedAt: z.string(),
  machine: z.object({
    hostname: z.string(),
    cpuModel: z.string(),
    threads: z.number().int().positive(),
    cores: z.number().int().positive(),
    memoryGiB: z.number(),
    os: z.string(),
    node: z.string(),
    ffmpeg: z.string(),
  }),
  config: z.record(z.string(), z.unknown()),
  sources: z.array(
    z.object({
      id: z.string(),
      width: z.number(),
      height: z.number(),
      fps: z.number(),
      durationSec: z.number(),
      content: z.string(),
      sizeBytes: z.number(),
    }),
  ),
  figures: z.array(FigureSchema),
  capacity: CapacitySchema.nullable(),
  sizing: SizingSchema.nullable(),
  notes: z.array(z.string()),
});
export type BenchReport = z.infer<typeof BenchReportSchema>;

export function buildReport(o: {
  config: BenchConfig;
  machine: MachineInfo;
  startedAt: Date;
  finishedAt: Date;
  figures: readonly Figure[];
  sources: BenchReport['sources'];
  capacity: CapacityEstimate | null;
  sizing: SizingChoice | null;
  notes: readonly string[];
}): BenchReport {
  return BenchReportSchema.parse({
    schema: 'kidstream-bench/1',
    mode: o.config.mode,
    startedAt: o.startedAt.toISOString(),
    finishedAt: o.finishedAt.toISOString(),
    machine: o.machine,
    config: { ...o.config },
    sources: o.sources,
    figures: o.figures,
    capacity: o.capacity,
    sizing: o.sizing,
    notes: o.notes,
  });
}

/** Plain-text table of every figure; ratio rows show their target and whether the median meets it. */
export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.group,
    f.label,
    fmt(f.stat.median),
    fmt(f.stat.min),
    fmt(f.stat.max),
    f.unit,
    f.target ? `${f.target.op} ${f.target.value} ${f.meetsTarget ? 'met' : 'MISSED'}` : '',
  ]);
  const head = ['group', 'figure', 'median', 'min', 'max', 'unit', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatCapacity(c: CapacityEstimate): string {
  const i = c.input;
  return [
    `Capacity estimate (${i.basis}):`,
    `  one ${i.targetCores}c/${i.targetThreads}t host ≈ ${c.targetXRealtime.toFixed(1)}× realtime → ${c.hoursPerDayPerHost.toFixed(0)} h of 1080p uploads/day at ${Math.round(i.utilisation * 100)} % utilisation`,
    `  ≈ ${c.videosPerHourPerHost.toFixed(0)} videos/hour of ${i.videoMinutes} min 1080p per host`,
    `  backlog ${i.backlogHours} h within ${i.clearWithinHours} h + ${i.incomingHoursPerDay} h/day incoming needs ${c.requiredHoursPerDay.toFixed(0)} h/day → ${c.hostsNeeded} worker host(s)`,
    `  ${c.note}`,
  ].join('\n');
}

/** Writes `<stamp>-<mode>.json` and `.svg` plus `latest.json`/`latest.svg`; returns the paths. */
export async function writeReport(dir: string, r: BenchReport): Promise<{ json: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const svg = renderSvg(
    panelsFromFigures(r.figures),
    `kidstream bench (${r.mode}) — ${r.machine.cpuModel}, ${r.machine.cores}c/${r.machine.threads}t`,
    `${r.machine.ffmpeg.split(' ').slice(0, 3).join(' ')} · ${r.startedAt} · bar = median, whisker = min–max over repeats, red dash = target, grey line = ratio 1`,
  );
  const json = `${JSON.stringify(r, null, 2)}\n`;
  const paths = { json: path.join(dir, `${stamp}-${r.mode}.json`), svg: path.join(dir, `${stamp}-${r.mode}.svg`) };
  await Promise.all([
    writeFile(paths.json, json),
    writeFile(paths.svg, svg),
    writeFile(path.join(dir, 'latest.json'), json),
    writeFile(path.join(dir, 'latest.svg'), svg),
  ]);
  return paths;
}
