import type { Figure, Stat, Target } from './types.ts';

/** min/median/max/mean of repeated measurements; an empty list is a programming error. */
export function summarize(samples: readonly number[]): Stat {
  if (samples.length === 0) throw new RangeError('summarize() needs at least one sample');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const round = (x: number): number => Math.round(x * 10_000) / 10_000;
  return {
    min: round(s[0]!),
    median: round(median),
    max: round(s[s.length - 1]!),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    n: s.length,
    samples: samples.map(round),
  };
}

/** Per-repeat ratios a[i]/b[i]: pairs come from the same repeat, so drift of the machine cancels out. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError('pairedRatios() needs equally many samples');
  return a.map((x, i) => x / b[i]!);
}

export function meets(value: number, t: Target): boolean {
  return t.op === '<=' ? value <= t.value : value >= t.value;
}

/** A ratio figure `numerator / denominator` (per repeat), optionally with a target. */
export function ratioFigure(o: {
  id: string;
  scenario: string;
  group: string;
  label: string;
  numerator: Figure;
  denominator: Figure;
  target?: Target;
  params?: Record<string, string | number | boolean>;
}): Figure {
  const stat = summarize(pairedRatios(o.numerator.stat.samples, o.denominator.stat.samples));
  return {
    id: o.id,
    scenario: o.scenario,
    group: o.group,
    label: o.label,
    unit: 'ratio',
    stat,
    params: { numerator: o.numerator.id, denominator: o.denominator.id, ...o.params },
    reference: o.denominator.id,
    ...(o.target ? { target: o.target, meetsTarget: meets(stat.median, o.target) } : {}),
  };
}

/** Formats a number for tables: 3 significant digits, no exponent for the ranges we print. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}
