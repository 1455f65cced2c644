import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { Upload } from '@tus/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PARTIAL_PREFIX, SafeFileStore } from '../safe-file-store.ts';

const HOUR = 3600_000;

/** Creates an upload of `size` bytes and writes `written` of them, the way the tus handlers drive a store. */
async function seed(store: FileStore, id: string, size: number, written: number, created: Date): Promise<void> {
  await store.create(new Upload({ id, size, offset: 0, creation_date: created.toISOString() }));
  if (written > 0) await store.write(Readable.from([Buffer.alloc(written, 7)]), id, 0);
}

describe('SafeFileStore expiration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('upstream FileStore.deleteExpired deletes a finished upload once it is old (the bug we guard against)', async () => {
    const store = new FileStore({ directory: dir, expirationPeriodInMilliseconds: HOUR });
    await seed(store, 'finished', 100, 100, new Date(Date.now() - 2 * HOUR));
    expect(await store.deleteExpired()).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes expired unfinished uploads and unconcatenated partials, never a finished upload', async () => {
    let now = Date.now();
    const store = new SafeFileStore({ directory: dir, expirationMs: HOUR, now: () => now });
    const created = new Date(now);
    await seed(store, 'finished', 100, 100, created);
    await seed(store, 'unfinished', 100, 40, created);
    await seed(store, 'empty-finished', 0, 0, created);
    await seed(store, `${PARTIAL_PREFIX}done`, 50, 50, created);
    // Not expired yet: nothing goes.
    expect(await store.deleteExpired()).toBe(0);
    now += 2 * HOUR;
    expect(await store.deleteExpired()).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['empty-finished', 'empty-finished.json', 'finished', 'finished.json']);
    expect((await store.getUpload('finished')).offset).toBe(100);
    // A second sweep much later still keeps it.
    now += 1000 * HOUR;
    expect(await store.deleteExpired()).toBe(0);
  });

  it('concatenates complete partials in order into a new upload; removeParts drops the partials', async () => {
    const store = new SafeFileStore({ directory: dir, expirationMs: 0 });
    await store.create(new Upload({ id: `${PARTIAL_PREFIX}a`, size: 3, offset: 0 }));
    await store.create(new Upload({ id: `${PARTIAL_PREFIX}b`, size: 2, offset: 0 }));
    await store.write(Readable.from([Buffer.from('abc')]), `${PARTIAL_PREFIX}a`, 0);
    await store.write(Readable.from([Buffer.from('de')]), `${PARTIAL_PREFIX}b`, 0);
    const final = await store.concatenate(new Upload({ id: 'final', size: 5, offset: 0 }), [`${PARTIAL_PREFIX}a`, `${PARTIAL_PREFIX}b`]);
    expect(final.offset).toBe(5);
    expect(await readFile(path.join(dir, 'final'), 'utf8')).toBe('abcde');
    // The partials stay until the caller has recorded the final upload: a failed finish is retried from them.
    expect((await readdir(dir)).filter((n) => n.startsWith(PARTIAL_PREFIX))).toHaveLength(4);
    await store.removeParts([`${PARTIAL_PREFIX}a`, `${PARTIAL_PREFIX}b`]);
    await store.removeParts([`${PARTIAL_PREFIX}a`]); // a repeated final request finds them gone
    expect((await readdir(dir)).sort()).toEqual(['final', 'final.json']);
    expect((await store.getUpload('final')).offset).toBe(5);
  });
});
