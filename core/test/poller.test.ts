import { describe, expect, it } from 'vitest';
import { startPoller } from '../poller.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('startPoller', () => {
  it('runs at once, never two runs at a time, and stop() waits for the run in flight', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    let finished = 0;
    const poller = startPoller(async () => {
      runs++;
      running++;
      most = Math.max(most, running);
      await sleep(30); // slower than the interval: ticks meanwhile must be skipped, not queued
      running--;
      finished++;
    }, 5);
    await sleep(100);
    expect(poller.active).toBe(true);
    await poller.stop();
    expect(poller.active).toBe(false);
    expect(most).toBe(1);
    expect(finished).toBe(runs); // nothing still running after stop()
    const after = runs;
    await sleep(40);
    expect(runs).toBe(after);
    await poller.stop(); // idempotent
  });

  it('runs once at start, without waiting for the first interval', async () => {
    let runs = 0;
    const poller = startPoller(async () => {
      runs++;
    }, 60_000);
    await sleep(20);
    await poller.stop();
    expect(runs).toBe(1);
  });

  it('keeps polling after a run that throws', async () => {
    let runs = 0;
    const poller = startPoller(async () => {
      runs++;
      throw new Error('boom');
    }, 5);
    for (let i = 0; i < 200 && runs < 3; i++) await sleep(5);
    await poller.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
  });

  it('a kick runs at once, and kicks during a run fold into one follow-up run', async () => {
    const reasons: string[] = [];
    let release: () => void = () => undefined;
    const poller = startPoller(async (reason) => {
      reasons.push(reason);
      if (reasons.length === 2) await new Promise<void>((r) => (release = r));
    }, 60_000);
    await sleep(10);
    expect(reasons).toEqual(['tick']);
    poller.kick(); // starts at once and blocks
    await sleep(10);
    poller.kick();
    poller.kick();
    poller.kick();
    await sleep(10);
    expect(reasons).toEqual(['tick', 'kick']);
    release();
    await sleep(20);
    expect(reasons).toEqual(['tick', 'kick', 'kick']);
    await poller.stop();
    poller.kick(); // stopped: nothing runs
    await sleep(10);
    expect(reasons).toHaveLength(3);
  });

  it('stop() waits for a kicked follow-up that was already queued', async () => {
    let done = 0;
    const poller = startPoller(async () => {
      await sleep(20);
      done++;
    }, 60_000);
    poller.kick(); // queued behind the first tick
    await poller.stop();
    // stop() came first: the queued kick is dropped, and the run in flight has finished.
    expect(done).toBe(1);
  });
});
