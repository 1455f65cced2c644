/**
 * Re-renders the SVG (and latest.*) of a saved report, e.g. after a chart fix or to compare old runs:
 *   node --import tsx bench/render.ts bench/results/<stamp>-full.json [outDir]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../core/errors.ts';
import { BenchReportSchema, writeReport } from './report.ts';

async function main(): Promise<void> {
  const [file, outDir] = process.argv.slice(2);
  if (!file) throw new Error('usage: bench/render.ts <report.json> [outDir]');
  const report = BenchReportSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  const out = await writeReport(outDir ?? path.dirname(file), report);
  console.log(`chart: ${out.svg}`);
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
