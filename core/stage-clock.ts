/** Milliseconds spent per named stage of one job, in the order they ran (for the log line that says where time went). */
export interface StageClock {
  /** Ends the current stage under `name` and starts the next one. */
  lap(name: string): void;
  /** Stages so far, rounded to whole milliseconds, plus `total`. */
  readonly laps: Readonly<Record<string, number>>;
}

export function stageClock(now: () => number = () => performance.now()): StageClock {
  const start = now();
  let last = start;
  const laps: Record<string, number> = {};
  return {
    lap(name) {
      const t = now();
      laps[name] = Math.round((laps[name] ?? 0) + t - last);
      laps['total'] = Math.round(t - start);
      last = t;
    },
    laps,
  };
}
