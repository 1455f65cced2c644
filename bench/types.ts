import type { FfmpegBinaries } from '../ops/ffmpeg-binaries.ts';
import type { GeneratedSource, SourceSpec } from './sources.ts';

/** Summary of repeated measurements of one quantity. */
export interface Stat {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly mean: number;
  readonly n: number;
  readonly samples: readonly number[];
}

export type Unit = 's' | 'ms' | 'req/s' | 'fps' | 'x realtime' | 'MiB/s' | 'MiB' | 'ratio';

/** A target a ratio should meet (e.g. pipeline/hand ≤ 1.05, per-rung/pipeline ≥ 1.3). */
export interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
}

/** One reported number: a Stat over repeats, the chart panel it belongs to and what it is compared with. */
export interface Figure {
  /** Stable id, e.g. `transcode.1080p30-grain.pipeline.wall`. */
  readonly id: string;
  readonly scenario: string;
  /** Chart panel / table section. */
  readonly group: string;
  /** Bar / row label inside the group. */
  readonly label: string;
  readonly unit: Unit;
  readonly stat: Stat;
  readonly params: Readonly<Record<string, string | number | boolean>>;
  /** Id of the figure this one is measured against in the same run (ratios name both sides). */
  readonly reference?: string;
  readonly target?: Target;
  /** Whether the median meets `target`; reported, never asserted. */
  readonly meetsTarget?: boolean;
}

/** Settings of the ingest scenario. */
export interface IngestSettings {
  /** Upload size in bytes (1 GiB in full mode). */
  readonly bytes: number;
  /** tus-js-client chunkSize; default 64 MiB. */
  readonly chunkBytes: number;
}

/** Everything a run needs; `--quick` and full mode are two presets of this, tests pass a tiny one. */
/** Threads per job in the scaling grid (see BenchConfig.scalingThreads). */
export type ThreadSetting = 'auto' | 'split' | number;

export interface BenchConfig {
  readonly mode: 'quick' | 'full' | 'custom';
  readonly repeats: number;
  readonly sources: readonly SourceSpec[];
  /** Source id used for the ladder comparison; default all. */
  readonly compareSources?: readonly string[];
  /** x264 presets for the preset sweep (first = reference). */
  readonly presets: readonly string[];
  /** Source the preset sweep, scaling and capacity estimate use (should be 1080p). */
  readonly capacitySource: string;
  /** Concurrent job counts for the scaling scenario, e.g. [1, 2, 4]. */
  readonly scalingJobs: readonly number[];
  /**
   * x264 threads per job in the scaling scenario, each run with every job count: `auto` = 0 (ffmpeg decides; what
   * FFMPEG_THREADS=0 does), `split` = cores / N, or a fixed number.
   */
  readonly scalingThreads: readonly ThreadSetting[];
  /** Which pipeline implementation is timed (bench/methods.ts PIPELINE_RUNNERS); default `pipeline`. */
  readonly runner?: string;
  /** Preset of the comparison and scaling runs (the pipeline's default). */
  readonly preset: string;
  readonly ingest: IngestSettings | null;
  /** The scale-out scenario's long source and chunk length; null skips it. */
  readonly scaleOut: { readonly source: SourceSpec; readonly chunkSec: number } | null;
  /** Sources of the end-to-end scenario (generated when that scenario runs, cached with the others). */
  readonly e2eSources: readonly SourceSpec[];
  /** Where the end-to-end scenario appends the service's log (`--service-log`); default nowhere. */
  readonly serviceLog?: string;
  /** The analytics beacon load: requests per second and seconds per measurement; absent skips the scenario. */
  readonly analyticsLoad?: { readonly rate: number; readonly seconds: number };
  /** Scenario ids to run; default every registered scenario. */
  readonly only?: readonly string[];
}

export interface Progress {
  /** One progress line (stderr): what is running and, when known, the measured value. */
  step(scenario: string, what: string, value?: string): void;
}

export interface ScenarioContext {
  readonly config: BenchConfig;
  readonly sources: ReadonlyMap<string, GeneratedSource>;
  readonly ffmpeg: FfmpegBinaries;
  /** Cache of generated sources (scenarios with sources of their own generate them here). */
  readonly sourcesDir: string;
  /** Scratch directory of this run; scenarios make sub-directories and remove them. */
  readonly workDir: string;
  readonly progress: Progress;
}

/** A benchmark scenario. Registered in bench/registry.ts; time-to-playable plugs in the same way. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<Figure[]>;
}
