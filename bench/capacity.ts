/**
 * Capacity estimate from measured × realtime. Pure arithmetic so it is tested exactly; every assumption is an input
 * and is echoed in the result, because this is an estimate, not a measurement on the target box.
 */
export interface CapacityInput {
  /** Measured aggregate × realtime on this machine for the basis source (best concurrency). */
  readonly measuredXRealtime: number;
  /** What was measured, e.g. "1080p30-grain-4s, full ladder, veryfast". */
  readonly basis: string;
  /** Logical CPUs of the measuring machine. */
  readonly machineThreads: number;
  /** Physical cores of the measuring machine (equals threads on a VM that shows no SMT siblings). */
  readonly machineCores: number;
  /** Target box; default AX42 (Ryzen 5 3600): 6 cores / 12 threads. */
  readonly targetCores: number;
  readonly targetThreads: number;
  /** What an SMT sibling adds to x264 throughput relative to a full core; default 0.25 (x264 gains ~20–30 %). */
  readonly smtYield: number;
  /** Per-core speed of the target relative to this machine; default 1 (unknown: measure on the box to replace it). */
  readonly perCoreSpeed: number;
  /** Fraction of the day the workers may be busy (headroom for peaks, API, packaging); default 0.8. */
  readonly utilisation: number;
  /** Hours of 1080p video waiting (the backlog to size for); default 100. */
  readonly backlogHours: number;
  /** Clear the backlog within this many hours; default 24. */
  readonly clearWithinHours: number;
  /** New 1080p hours arriving per day on top of the backlog; default 0. */
  readonly incomingHoursPerDay: number;
  /** Length of a typical upload in minutes, to turn hours of video into videos; default 5 (a family clip). */
  readonly videoMinutes: number;
  /**
   * What each host beyond the first adds, as a fraction of one host: the scale-out scenario's 2-worker speed-up / 2
   * when it ran (chunk jobs spread over hosts), else 1. Default 1.
   */
  readonly addedHostYield?: number;
}

export interface CapacityEstimate {
  readonly input: CapacityInput;
  readonly machineCoreEquivalents: number;
  readonly targetCoreEquivalents: number;
  /** targetCoreEquivalents / machineCoreEquivalents × perCoreSpeed. */
  readonly scale: number;
  readonly targetXRealtime: number;
  /** Hours of 1080p uploads one target host processes per day at `utilisation`. */
  readonly hoursPerDayPerHost: number;
  /** Uploads of `videoMinutes` 1080p one target host finishes per hour at `utilisation`. */
  readonly videosPerHourPerHost: number;
  /** Hours of video per day the backlog + incoming load needs. */
  readonly requiredHoursPerDay: number;
  readonly hostsNeeded: number;
  readonly note: string;
}

export const AX42 = { cores: 6, threads: 12 } as const;

/** Cores plus a fraction for each SMT sibling beyond them. */
export function coreEquivalents(cores: number, threads: number, smtYield: number): number {
  return cores + Math.max(0, threads - cores) * smtYield;
}

export function estimateCapacity(i: CapacityInput): CapacityEstimate {
  const machineCoreEquivalents = coreEquivalents(i.machineCores, i.machineThreads, i.smtYield);
  const targetCoreEquivalents = coreEquivalents(i.targetCores, i.targetThreads, i.smtYield);
  const scale = (targetCoreEquivalents / machineCoreEquivalents) * i.perCoreSpeed;
  const targetXRealtime = i.measuredXRealtime * scale;
  const hoursPerDayPerHost = targetXRealtime * 24 * i.utilisation;
  const videosPerHourPerHost = (targetXRealtime * 60 * i.utilisation) / i.videoMinutes;
  const requiredHoursPerDay = i.incomingHoursPerDay + (i.backlogHours * 24) / i.clearWithinHours;
  const yieldPerHost = Math.min(1, Math.max(0.1, i.addedHostYield ?? 1));
  // N hosts do 1 + (N − 1) × yield hosts' work.
  const hostsNeeded = Math.max(1, 1 + Math.ceil((requiredHoursPerDay / hoursPerDayPerHost - 1) / yieldPerHost));
  const note =
    `ESTIMATE: measured ${i.measuredXRealtime.toFixed(2)}× realtime (${i.basis}) on ${i.machineCores}c/${i.machineThreads}t, ` +
    `scaled linearly to ${i.targetCores}c/${i.targetThreads}t (SMT sibling = ${i.smtYield} core, per-core speed ×${i.perCoreSpeed}). ` +
    'x264 scales well but not perfectly with cores; run `npm run bench` on the target box to replace the estimate.' +
    (i.addedHostYield !== undefined ? ` Each added host counted as ${i.addedHostYield.toFixed(2)} host (measured scale-out).` : '');
  return {
    input: i,
    machineCoreEquivalents,
    targetCoreEquivalents,
    scale,
    targetXRealtime,
    hoursPerDayPerHost,
    videosPerHourPerHost,
    requiredHoursPerDay,
    hostsNeeded,
    note,
  };
}
