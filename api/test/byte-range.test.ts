import { describe, expect, it } from 'vitest';
import { parseRange } from '../byte-range.ts';

describe('parseRange (RFC 9110 single byte ranges)', () => {
  it('clamps the end and resolves suffix ranges', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=5-500', 100)).toEqual({ start: 5, end: 99 });
    expect(parseRange(' bytes=2-5 ', 10)).toEqual({ start: 2, end: 5 });
  });

  it('tells an absent header, a malformed one and an unsatisfiable one apart', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('', 100)).toBeUndefined();
    for (const h of ['items=0-1', 'bytes=0-1,4-5', 'bytes=-', 'bytes=a-b']) expect(parseRange(h, 100)).toBe('malformed');
    for (const h of ['bytes=100-', 'bytes=100-120', 'bytes=5-2']) expect(parseRange(h, 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=-5', 0)).toBe('unsatisfiable');
  });
});
