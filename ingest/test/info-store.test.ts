import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileConfigstore } from '@tus/file-store';
import { Upload } from '@tus/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CachedInfoStore } from '../info-store.ts';

describe('CachedInfoStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-info-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const info = (size: number | undefined): Upload =>
    new Upload({ id: 'u1', size, offset: 0, metadata: { title: 'clip' }, creation_date: '2026-01-01T00:00:00.000Z' });

  it('answers like FileConfigstore, and sees a rewrite or deletion by another process at once', async () => {
    const cached = new CachedInfoStore(dir);
    // Another API process (or the upload sweep) writing the same directory.
    const other = new FileConfigstore(dir);
    expect(await cached.get('u1')).toBeUndefined();
    await other.set('u1', info(undefined));
    expect(await cached.get('u1')).toEqual(await other.get('u1'));
    expect((await cached.get('u1'))?.size).toBeUndefined();
    // Upload-Length declared through the other process (creation-defer-length).
    await other.set('u1', info(123_456));
    expect((await cached.get('u1'))?.size).toBe(123_456);
    await rm(path.join(dir, 'u1.json'));
    expect(await cached.get('u1')).toBeUndefined();
  });

  it('hands out copies: changing what get() returned does not change the next answer', async () => {
    const store = new CachedInfoStore(dir);
    await store.set('u1', info(10));
    const first = (await store.get('u1'))!;
    first.size = 99;
    first.metadata!.title = 'changed';
    const again = (await store.get('u1'))!;
    expect([again.size, again.metadata?.title]).toEqual([10, 'clip']);
  });

  it('treats a torn info file (read while being written) as missing, then reads it again', async () => {
    const store = new CachedInfoStore(dir);
    await writeFile(path.join(dir, 'u1.json'), '{"id":"u1","si');
    expect(await store.get('u1')).toBeUndefined();
    await store.set('u1', info(5));
    expect((await store.get('u1'))?.size).toBe(5);
  });

  it('refuses ids that leave the directory', async () => {
    await expect(new CachedInfoStore(dir).get('../outside')).rejects.toBeDefined();
  });
});
