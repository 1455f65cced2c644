/**
 * Worker sizing from the measured jobs × threads grid: which WORKER_CONCURRENCY / FFMPEG_THREADS this machine should
 * run, and what that means for a target box. Pure arithmetic, so the rule is tested exactly; the rule and every input
 * are echoed in the result because the target half is a model, not a measurement.
 */
export interface GridPoint {
  /** Transcode jobs at once on the machine (WORKER_CONCURRENCY × worker processes). */
  readonly jobs: number;
  /** x264 threads per encoder (FFMPEG_THREADS); 0 = ffmpeg decides. */
  readonly threadsPerJob: number;
  /** Aggregate × realtime of all jobs together (median). */
  readonly xrt: number;
}

export interface SizingInput {
  readonly grid: readonly GridPoint[];
  /** Logical CPUs of the measuring machine. */
  readonly machineThreads: number;
  /** Logical CPUs of the target box (AX42: 12). */
  readonly targetThreads: number;
  /**
   * Throughput within this fraction of the best counts as a tie; a tie goes to fewer jobs, because each video then
   * finishes sooner (a parent waits for one video, not for the day's total). Default 0.05.
   */
  readonly tolerance?: number;
}

export interface SizingChoice {
  readonly best: GridPoint;
  readonly chosen: GridPoint;
  /** Jobs per logical CPU of the chosen point, carried to the target box. */
  readonly jobsPerThread: number;
  readonly target: { readonly workerConcurrency: number; readonly ffmpegThreads: number };
  readonly rule: string;
}

const label = (p: GridPoint): string => `${p.jobs} job${p.jobs > 1 ? 's' : ''} × ${p.threadsPerJob || 'auto'} threads`;

export function chooseSizing(i: SizingInput): SizingChoice | undefined {
  const tolerance = i.tolerance ?? 0.05;
  const points = i.grid.filter((p) => Number.isFinite(p.xrt) && p.xrt > 0);
  if (points.length === 0) return undefined;
  const best = points.reduce((a, b) => (b.xrt > a.xrt ? b : a));
  const ties = points.filter((p) => p.xrt >= best.xrt * (1 - tolerance));
  // Fewest jobs first; among those, the most throughput.
  const chosen = ties.sort((a, b) => a.jobs - b.jobs || b.xrt - a.xrt)[0]!;
  const jobsPerThread = chosen.jobs / i.machineThreads;
  const workerConcurrency = Math.max(1, Math.round(jobsPerThread * i.targetThreads));
  // A fixed thread count per job is kept per job on the target; "auto" stays auto (x264 sizes itself per box).
  const ffmpegThreads = chosen.threadsPerJob;
  const rule =
    `best ${label(best)} = ${best.xrt.toFixed(2)}× realtime; within ${Math.round(tolerance * 100)} % of it the fewest jobs win ` +
    `(each video finishes sooner): ${label(chosen)} = ${chosen.xrt.toFixed(2)}× on ${i.machineThreads} threads; ` +
    `kept at ${jobsPerThread.toFixed(2)} jobs per thread on ${i.targetThreads} threads → WORKER_CONCURRENCY=${workerConcurrency}, ` +
    `FFMPEG_THREADS=${ffmpegThreads} (a model: re-run the grid on the target box)`;
  return { best, chosen, jobsPerThread, target: { workerConcurrency, ffmpegThreads }, rule };
}
