import { describe, expect, it } from 'vitest';
import { stageClock } from '../stage-clock.ts';

describe('stageClock', () => {
  it('records each stage since the previous lap, adds repeated names up, and keeps a running total', () => {
    let t = 1000;
    const c = stageClock(() => t);
    t += 250.4;
    c.lap('scan');
    t += 100;
    c.lap('encode');
    t += 50;
    c.lap('scan');
    expect(c.laps).toEqual({ scan: 300, encode: 100, total: 400 });
  });
});
