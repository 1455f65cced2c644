import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipStream } from '../zip-stream.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-zip-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function* pieces(): AsyncGenerator<string> {
  yield '{"a":';
  yield '1}';
}

describe('zipStream', () => {
  it('writes an archive Info-ZIP accepts, entries opened in turn and the given date', async () => {
    const big = Buffer.alloc(300_000, 7);
    const opened: string[] = [];
    const entries = [
      { name: 'export.json', open: async () => (opened.push('export.json'), pieces()) },
      { name: 'masters/v1.mp4', open: async () => (opened.push('video'), Readable.from([big.subarray(0, 1000), big.subarray(1000)])) },
    ];
    const chunks: Buffer[] = [];
    for await (const c of zipStream(entries, new Date('2026-03-04T05:06:08Z'))) chunks.push(c);
    const file = path.join(tmp, 'a.zip');
    await writeFile(file, Buffer.concat(chunks));
    execFileSync('unzip', ['-tq', file]);
    expect(execFileSync('unzip', ['-p', file, 'export.json'], { encoding: 'utf8' })).toBe('{"a":1}');
    expect(execFileSync('unzip', ['-p', file, 'masters/v1.mp4']).equals(big)).toBe(true);
    expect(execFileSync('unzip', ['-l', file], { encoding: 'utf8' })).toContain('2026-03-04');
    expect(opened).toEqual(['export.json', 'video']);
  });
});
