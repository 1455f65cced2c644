import { describe, expect, it } from 'vitest';
import { scalingGrid, threadsFor } from '../scenarios/scaling.ts';
import { chooseSizing } from '../sizing.ts';

describe('scaling grid', () => {
  it('runs each (jobs, threads) pair once, with split and auto resolved per job count', () => {
    expect(threadsFor('auto', 2, 8)).toBe(0);
    expect(threadsFor('split', 3, 8)).toBe(2);
    expect(threadsFor('split', 16, 8)).toBe(1);
    expect(threadsFor(4, 2, 8)).toBe(4);
    // split for 2 jobs on 2 CPUs is 1 thread: the same pair as the fixed 1 is run once.
    expect(scalingGrid([1, 2], ['auto', 1, 'split'], 2)).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [2, 0],
      [2, 1],
    ]);
  });
});

describe('chooseSizing', () => {
  const grid = [
    { jobs: 1, threadsPerJob: 0, xrt: 1.0 },
    { jobs: 2, threadsPerJob: 0, xrt: 1.04 },
    { jobs: 2, threadsPerJob: 1, xrt: 0.9 },
  ];

  it('takes the fewest jobs within the tolerance of the best, and keeps jobs per thread on the target', () => {
    const s = chooseSizing({ grid, machineThreads: 2, targetThreads: 12 })!;
    expect(s.best).toEqual(grid[1]);
    expect(s.chosen).toEqual(grid[0]);
    expect(s.jobsPerThread).toBe(0.5);
    expect(s.target).toEqual({ workerConcurrency: 6, ffmpegThreads: 0 });
    expect(s.rule).toContain('WORKER_CONCURRENCY=6');
  });

  it('takes more jobs when they clearly pay', () => {
    const s = chooseSizing({ grid, machineThreads: 2, targetThreads: 12, tolerance: 0.01 })!;
    expect(s.chosen).toEqual(grid[1]);
    expect(s.target.workerConcurrency).toBe(12);
  });

  it('never sizes below one job and ignores points that did not run', () => {
    const s = chooseSizing({
      grid: [
        { jobs: 1, threadsPerJob: 1, xrt: 0.5 },
        { jobs: 4, threadsPerJob: 1, xrt: NaN },
      ],
      machineThreads: 64,
      targetThreads: 12,
    })!;
    expect(s.chosen.jobs).toBe(1);
    expect(s.target).toEqual({ workerConcurrency: 1, ffmpegThreads: 1 });
    expect(chooseSizing({ grid: [], machineThreads: 2, targetThreads: 12 })).toBeUndefined();
  });
});

describe('capacity with a measured scale-out', () => {
  it('counts each added host as the measured fraction of one', async () => {
    const { estimateCapacity } = await import('../capacity.ts');
    const base = {
      measuredXRealtime: 1,
      basis: 'test',
      machineThreads: 2,
      machineCores: 2,
      targetCores: 2,
      targetThreads: 2,
      smtYield: 0.25,
      perCoreSpeed: 1,
      utilisation: 1,
      backlogHours: 0,
      clearWithinHours: 24,
      incomingHoursPerDay: 72, // three hosts' worth at 24 h/day each
      videoMinutes: 5,
    };
    expect(estimateCapacity(base).hostsNeeded).toBe(3);
    // A second host adds only half a host: 1 + 2 × 0.5 = 2 hosts' work from 3, so 5 are needed for 3 hosts' worth.
    expect(estimateCapacity({ ...base, addedHostYield: 0.5 }).hostsNeeded).toBe(5);
  });
});
