import { describe, expect, it } from 'vitest';
import { mapLimit } from '../map-limit.ts';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick(n * 3);
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(3);
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });

  it('rejects with the first failure after the calls in flight settle, and starts no new ones', async () => {
    const started: number[] = [];
    let inFlight = 0;
    const err = await mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      inFlight++;
      await tick(n === 1 ? 1 : 20);
      inFlight--;
      if (n === 1) throw new Error('boom');
      return n;
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('boom');
    expect(inFlight).toBe(0);
    expect(started).toEqual([1, 2]);
  });
});
