import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlushBehind } from '../flush-behind.ts';

describe('FlushBehind', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-flush-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('settle() waits for the running flush; a missing file is not a failure', async () => {
    await writeFile(path.join(dir, 'a'), Buffer.alloc(1024 * 1024, 1));
    const flushes = new FlushBehind((id) => path.join(dir, id));
    flushes.start('a');
    await expect(flushes.settle('a')).resolves.toBeUndefined();
    flushes.start('gone');
    await expect(flushes.settle('gone')).resolves.toBeUndefined();
  });

  it('hands a failed flush to the next settle() of that upload, once, as an fsync would report it', async () => {
    await writeFile(path.join(dir, 'file'), 'x');
    // ENOTDIR: the flush cannot open its file, as an I/O error would stop it.
    const flushes = new FlushBehind((id) => path.join(dir, 'file', id));
    flushes.start('a');
    await flushes.settle('other');
    await expect(flushes.settle('a')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(flushes.settle('a')).resolves.toBeUndefined();
    // Removed while its flush still runs: the failure that comes after is dropped too.
    flushes.start('b');
    flushes.forget('b');
    await expect(flushes.settle('b')).resolves.toBeUndefined();
  });
});
