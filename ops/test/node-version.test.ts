import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** [major, minor, patch] of a version string such as "22.13.0" or "v22.23.5". */
const parts = (v: string): number[] => v.replace(/^v/, '').split('.').map(Number);
const atLeast = (have: number[], want: number[]): boolean => {
  for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  return true;
};

describe('the Node.js the suite runs on', () => {
  // CI runs the suite through .ci/run, which sources ops/node-lts.sh: this fails if that step stopped taking effect.
  it('satisfies package.json "engines" (a maintained LTS line, >= 22)', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const min = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(min, 'engines.node is ">=x.y.z"').toBeDefined();
    expect(parts(min!)[0]).toBeGreaterThanOrEqual(22);
    expect(atLeast(parts(process.version), parts(min!)), `node ${process.version} < ${min}; source ops/node-lts.sh`).toBe(true);
  });
});
