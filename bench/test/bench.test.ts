import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench, DEFAULT_CAPACITY } from '../bench.ts';
import { coreEquivalents, estimateCapacity } from '../capacity.ts';
import { UPLOAD_PAGE_CHUNK_BYTES } from '../configs.ts';
import { physicalCores } from '../machine.ts';
import { handSingleArgs, perRungArgs, pipelineRunner, type LadderJob } from '../methods.ts';
import { SCENARIOS, selectScenarios } from '../registry.ts';
import { BenchReportSchema, formatTable, writeReport } from '../report.ts';
import { lavfiVideo, sourceArgs, sourceId, type ContentKind } from '../sources.ts';
import { meets, pairedRatios, ratioFigure, summarize } from '../stats.ts';
import { escapeXml, panelsFromFigures, renderSvg } from '../svg.ts';
import type { BenchConfig, Figure, Scenario } from '../types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const fig = (id: string, samples: number[], extra: Partial<Figure> = {}): Figure => ({
  id,
  scenario: 't',
  group: 'G <1>',
  label: `L ${id}`,
  unit: 's',
  stat: summarize(samples),
  params: {},
  ...extra,
});

describe('stats', () => {
  it('summarises odd and even sample counts', () => {
    expect(summarize([3, 1, 2])).toMatchObject({ min: 1, median: 2, max: 3, mean: 2, n: 3, samples: [3, 1, 2] });
    expect(summarize([4, 1, 2, 3]).median).toBe(2.5);
    expect(() => summarize([])).toThrow(RangeError);
  });

  it('pairs ratios per repeat and evaluates targets', () => {
    expect(pairedRatios([2, 4], [1, 2])).toEqual([2, 2]);
    expect(() => pairedRatios([1], [1, 2])).toThrow(RangeError);
    const r = ratioFigure({
      id: 'r',
      scenario: 't',
      group: 'g',
      label: 'l',
      numerator: fig('a', [1.02, 1.04]),
      denominator: fig('b', [1, 1]),
      target: { op: '<=', value: 1.05 },
    });
    expect(r).toMatchObject({ unit: 'ratio', reference: 'b', meetsTarget: true });
    expect(r.stat.median).toBeCloseTo(1.03, 6);
    expect(meets(1.2, { op: '>=', value: 1.3 })).toBe(false);
  });
});

describe('capacity', () => {
  it('scales measured × realtime by core equivalents and sizes hosts for a backlog', () => {
    expect(coreEquivalents(6, 12, 0.25)).toBe(7.5);
    const c = estimateCapacity({
      ...DEFAULT_CAPACITY,
      measuredXRealtime: 1,
      basis: 'b',
      machineThreads: 2,
      machineCores: 2,
    });
    expect(c.scale).toBe(3.75);
    expect(c.hoursPerDayPerHost).toBeCloseTo(72, 6); // 3.75 × 24 h × 0.8
    expect(c.videosPerHourPerHost).toBeCloseTo(36, 6); // 3.75 × 60 min × 0.8 / 5 min
    expect(c.requiredHoursPerDay).toBe(100);
    expect(c.hostsNeeded).toBe(2);
    expect(c.note).toMatch(/^ESTIMATE/);
    const busy = estimateCapacity({ ...c.input, incomingHoursPerDay: 200, clearWithinHours: 12 });
    expect(busy.requiredHoursPerDay).toBe(400);
    expect(busy.hostsNeeded).toBe(6);
  });

  it('counts physical cores from /proc/cpuinfo and falls back to threads', () => {
    const smt = ['0:0', '0:1', '0:0', '0:1']
      .map((pc) => `physical id\t: ${pc.split(':')[0]}\ncore id\t\t: ${pc.split(':')[1]}`)
      .join('\n\n');
    expect(physicalCores(smt, 4)).toBe(2);
    expect(physicalCores('', 8)).toBe(8);
  });
});

describe('svg and table', () => {
  it('renders one panel per group with escaped labels, whiskers and target marks', () => {
    const figures = [
      fig('a', [1, 2, 3]),
      fig('b', [2, 2, 2], { target: { op: '<=', value: 1.05 }, meetsTarget: false }),
      fig('c', [5], { group: 'Other' }),
    ];
    const panels = panelsFromFigures(figures);
    expect(panels.map((p) => p.bars.length)).toEqual([2, 1]);
    const withRatio = panelsFromFigures([fig('a', [1]), fig('r', [1], { unit: 'ratio', group: 'Ratios' })]);
    expect(withRatio.map((p) => p.unit)).toEqual(['ratio', 's']);
    const svg = renderSvg(panels, 'T & <x>', 'sub');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('G &lt;1&gt; (s)');
    expect(svg).toContain('T &amp; &lt;x&gt;');
    expect(svg.match(/class="target"/g)).toHaveLength(1);
    expect(svg, 'every < must open a tag (well-formed XML)').not.toMatch(/<(?![a-zA-Z/?!])/);
    expect(svg).toContain('target &lt;= 1.05');
    expect(svg.match(/<rect x=/g)).toHaveLength(3);
    expect(escapeXml(`"'`)).toBe('&quot;&apos;');
    const table = formatTable(figures);
    expect(table.split('\n')).toHaveLength(5);
    expect(table).toContain('<= 1.05 MISSED');
  });
});

describe('sources and reference commands', () => {
  it('builds a lavfi graph for every content kind', () => {
    for (const content of ['grain', 'fractal', 'life', 'bars'] as ContentKind[]) {
      const spec = { content, width: 3840, height: 2160, fps: 60, durationSec: 2 };
      expect(lavfiVideo(spec)).toMatch(/^(testsrc2|mandelbrot|life|rgbtestsrc)=/);
      expect(sourceArgs(spec, '/x.mp4').at(-1)).toBe('/x.mp4');
      expect(sourceId(spec)).toBe(`2160p60-${content}-2s`);
    }
  });

  it('writes the hand-written ladder as one decode with N+1 outputs, per-rung as one rung each', () => {
    const rung = (name: string, h: number) => ({ name, width: (h * 16) / 9, height: h, fps: 30, videoBitrate: 1e6, maxBitrate: 1.5e6 });
    const j = {
      source: { path: '/in.mp4' },
      rungs: [rung('360p', 360), rung('720p', 720)],
      preset: 'veryfast',
      threads: 0,
    } as unknown as LadderJob;
    const args = handSingleArgs(j, ['/o/v0', '/o/v1'], '/o/audio');
    expect(args.filter((a) => a === '-i')).toHaveLength(1);
    expect(args.filter((a) => a.endsWith('index.m3u8'))).toEqual(['/o/v0/index.m3u8', '/o/v1/index.m3u8', '/o/audio/index.m3u8']);
    expect(args[args.indexOf('-filter_complex') + 1]).toContain('split=2');
    const one = perRungArgs(j, j.rungs[1]!, '/o/v1');
    expect(one[one.indexOf('-vf') + 1]).toContain('scale=1280:720');
  });

  it("measures ingest in the upload page's tus chunk size", async () => {
    const page = await readFile(path.join(ROOT, 'player', 'upload.html'), 'utf8');
    expect(Number(/data-chunk-bytes="(\d+)"/.exec(page)?.[1])).toBe(UPLOAD_PAGE_CHUNK_BYTES);
  });

  it('rejects unknown scenario ids and runners', () => {
    expect(() => pipelineRunner('nope')).toThrow(/Unknown runner nope; known: pipeline/);
    expect(selectScenarios(SCENARIOS, ['ingest']).map((s) => s.id)).toEqual(['ingest']);
    expect(() => selectScenarios(SCENARIOS, ['nope'])).toThrow(/Unknown scenario/);
  });
});

describe('runBench (tiny config, structure only — never speed)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-bench-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every registered scenario plus a plugged-in one and writes a valid JSON report and SVG', { timeout: 480_000 }, async () => {
    const spec = { content: 'grain' as const, width: 640, height: 360, fps: 15, durationSec: 1 };
    const config: BenchConfig = {
      mode: 'custom',
      // One repeat: this test checks what runs and what the report holds, never a speed.
      repeats: 1,
      sources: [spec],
      presets: ['ultrafast', 'superfast'],
      capacitySource: sourceId(spec),
      scalingJobs: [1, 2],
      scalingThreads: ['auto', 1],
      preset: 'ultrafast',
      ingest: { bytes: 3 * 1024 * 1024, chunkBytes: 1024 * 1024 },
      e2eSources: [spec],
      // Two 6 s chunks; speeds are not asserted, only that every setting ran and reported.
      scaleOut: { source: { content: 'grain', width: 160, height: 90, fps: 15, durationSec: 12, bitrateKbps: 300 }, chunkSec: 6 },
    };
    const plugged: Scenario = { id: 'time-to-playable', title: 'plug-in', run: async () => [fig('ttp.x', [1])] };
    const broken: Scenario = { id: 'broken', title: 'fails', run: async () => Promise.reject(new Error('boom')) };
    const lines: string[] = [];
    const tmp = path.join(dir, 'tmp');
    const report = await runBench({
      config,
      sourcesDir: path.join(dir, 'sources'),
      tmpDir: tmp,
      scenarios: [...SCENARIOS, plugged, broken],
      progress: { step: (s, what, v) => lines.push(`${s} ${what} ${v ?? ''}`) },
    });
    expect(BenchReportSchema.safeParse(report).success).toBe(true);
    expect(report.machine.threads).toBeGreaterThan(0);
    // The jobs × threads grid ran and the defaults were chosen from it; the capacity estimate uses that point.
    expect(report.sizing?.chosen.jobs).toBeGreaterThan(0);
    expect(report.capacity?.input.basis).toContain('chosen sizing');
    expect(report.machine.ffmpeg).toMatch(/^ffmpeg version/);
    const ids = report.figures.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const prefix of ['transcode.', 'presets.', 'scaling.', 'ingest.', 'ttp.', 'e2e.', 'watermark.'])
      expect(ids.some((i) => i.startsWith(prefix))).toBe(true);
    for (const f of report.figures) {
      expect({ id: f.id, n: f.stat.n }).toEqual({ id: f.id, n: 1 });
      expect(f.stat.min).toBeLessThanOrEqual(f.stat.median);
      expect(f.stat.median).toBeLessThanOrEqual(f.stat.max);
      if (f.reference) expect(ids).toContain(f.reference);
    }
    const withTargets = report.figures.filter((f) => f.target);
    const so = sourceId(config.scaleOut!.source);
    const scaleOutRatios = [`scaleout.${so}.chunk-cost`, ...(os.availableParallelism() >= 2 ? [`scaleout.${so}.speedup-2`] : [])];
    if (os.availableParallelism() >= 4) scaleOutRatios.push(`scaleout.${so}.speedup-4`);
    expect(withTargets.map((f) => f.id).sort()).toEqual([
      `e2e.${sourceId(spec)}.peer-speedup`,
      `e2e.${sourceId(spec)}.previewable-share`,
      `e2e.${sourceId(spec)}.vs-hand`,
      'ingest.tus-rss-flatness',
      'ingest.tus-vs-raw',
      ...scaleOutRatios,
      `transcode.${sourceId(spec)}.per-rung-speedup`,
      `transcode.${sourceId(spec)}.pipeline-vs-hand`,
      'ttp.ratio',
      `watermark.${sourceId(spec)}.cost`,
    ]);
    expect(typeof withTargets[0]!.meetsTarget).toBe('boolean');
    expect(report.notes.some((n) => n.startsWith('scenario broken failed'))).toBe(true);
    expect(report.capacity?.hostsNeeded).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.startsWith('transcode-compare'))).toBe(true);
    expect(await readdir(tmp)).toEqual([]);

    const out = await writeReport(path.join(dir, 'results'), report);
    const parsed = BenchReportSchema.parse(JSON.parse(await readFile(out.json, 'utf8')));
    expect(parsed.figures).toHaveLength(report.figures.length);
    expect(await readFile(out.svg, 'utf8')).toContain('Ingest throughput');
    expect((await readdir(path.join(dir, 'results'))).sort()).toEqual(
      ['latest.json', 'latest.svg', path.basename(out.json), path.basename(out.svg)].sort(),
    );
  });
});
