import { fmt } from './stats.ts';
import type { Figure, Stat, Target } from './types.ts';

export interface ChartBar {
  readonly label: string;
  readonly stat: Stat;
  readonly target?: Target;
}

export interface ChartPanel {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly ChartBar[];
}

const W = 960;
const LABEL_W = 330;
const VALUE_W = 150;
const BAR_H = 18;
const GAP = 6;
const TITLE_H = 30;
const PLOT_W = W - LABEL_W - VALUE_W - 20;
const COLORS = ['#3b6fb6', '#d9822b', '#4f9d69', '#a35db8', '#c94f4f', '#6b7b8c'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Ratio panels first, then the others in the order figures first name them; each panel holds that group's figures as bars. */
export function panelsFromFigures(figures: readonly Figure[]): ChartPanel[] {
  const panels = new Map<string, { title: string; unit: string; bars: ChartBar[] }>();
  for (const f of figures) {
    const key = `${f.group}\u0000${f.unit}`;
    let p = panels.get(key);
    if (!p) panels.set(key, (p = { title: f.group, unit: f.unit, bars: [] }));
    p.bars.push({ label: f.label, stat: f.stat, ...(f.target ? { target: f.target } : {}) });
  }
  // Ratios first: they are the summary an operator reads; the raw figures below explain them.
  return [...panels.values()].sort((a, b) => Number(b.unit === 'ratio') - Number(a.unit === 'ratio'));
}

function panelSvg(p: ChartPanel, y0: number): { svg: string; height: number } {
  const max = Math.max(...p.bars.map((b) => Math.max(b.stat.max, b.target?.value ?? 0)), 1e-9) * 1.05;
  const x = (v: number): number => LABEL_W + (Math.max(0, v) / max) * PLOT_W;
  const out = [`<text x="10" y="${y0 + 20}" class="title">${escapeXml(p.title)} (${escapeXml(p.unit)})</text>`];
  p.bars.forEach((b, i) => {
    const y = y0 + TITLE_H + i * (BAR_H + GAP);
    const mid = y + BAR_H / 2;
    const color = COLORS[i % COLORS.length]!;
    out.push(
      `<text x="${LABEL_W - 8}" y="${mid + 4}" class="label" text-anchor="end">${escapeXml(b.label)}</text>`,
      `<rect x="${LABEL_W}" y="${y}" width="${(x(b.stat.median) - LABEL_W).toFixed(1)}" height="${BAR_H}" fill="${color}" opacity="0.85"/>`,
      // Whisker: min–max over repeats.
      `<line x1="${x(b.stat.min).toFixed(1)}" x2="${x(b.stat.max).toFixed(1)}" y1="${mid}" y2="${mid}" class="whisker"/>`,
      `<line x1="${x(b.stat.min).toFixed(1)}" x2="${x(b.stat.min).toFixed(1)}" y1="${y + 4}" y2="${y + BAR_H - 4}" class="whisker"/>`,
      `<line x1="${x(b.stat.max).toFixed(1)}" x2="${x(b.stat.max).toFixed(1)}" y1="${y + 4}" y2="${y + BAR_H - 4}" class="whisker"/>`,
      `<text x="${W - VALUE_W}" y="${mid + 4}" class="value">${fmt(b.stat.median)} [${fmt(b.stat.min)}–${fmt(b.stat.max)}]</text>`,
    );
    if (b.target) {
      const tx = x(b.target.value).toFixed(1);
      out.push(
        `<line x1="${tx}" x2="${tx}" y1="${y - 2}" y2="${y + BAR_H + 2}" class="target"><title>${escapeXml(`target ${b.target.op} ${b.target.value}`)}</title></line>`,
      );
    }
  });
  const height = TITLE_H + p.bars.length * (BAR_H + GAP) + 12;
  if (p.unit === 'ratio') {
    // Parity line: left of it the numerator is smaller than its reference.
    const one = x(1).toFixed(1);
    out.push(`<line x1="${one}" x2="${one}" y1="${y0 + TITLE_H - 4}" y2="${y0 + height - 14}" class="parity"/>`);
  }
  return { svg: out.join('\n'), height };
}

/** A self-contained SVG: one horizontal bar panel per group, bar = median, whisker = min–max, red dash = target, grey line = ratio 1. */
export function renderSvg(panels: readonly ChartPanel[], heading: string, subheading: string): string {
  let y = 60;
  const parts: string[] = [];
  for (const p of panels) {
    const r = panelSvg(p, y);
    parts.push(r.svg);
    y += r.height;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" viewBox="0 0 ${W} ${y + 10}" font-family="sans-serif">`,
    '<style>.title{font-size:14px;font-weight:bold}.label,.value{font-size:12px}.whisker{stroke:#222;stroke-width:1.2}' +
      '.target{stroke:#d00;stroke-width:2;stroke-dasharray:3 2}.sub{font-size:12px;fill:#555}.parity{stroke:#888;stroke-width:1}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" font-size="18" font-weight="bold">${escapeXml(heading)}</text>`,
    `<text x="10" y="44" class="sub">${escapeXml(subheading)}</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
