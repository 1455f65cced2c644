import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { ERRORS, Upload } from '@tus/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { FLUSH_EVERY_BYTES, PARTIAL_PREFIX, SafeFileStore } from '../safe-file-store.ts';

const HOUR = 3600_000;

/** Creates an upload of `size` bytes and writes `written` of them, the way the tus handlers drive a store. */
async function seed(store: FileStore, id: string, size: number, written: number, created: Date): Promise<void> {
  await store.create(new Upload({ id, size, offset: 0, creation_date: created.toISOString() }));
  if (written > 0) await store.write(Readable.from([videoLikeBytes(written)]), id, 0);
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

describe('SafeFileStore writes and lookups', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores chunks at their offsets across PATCHes, counts what reached the file, and syncs after its flushes', async () => {
    const store = new SafeFileStore({ directory: dir, expirationMs: 0 });
    const data = videoLikeBytes(3 * FLUSH_EVERY_BYTES + 12_345);
    await store.create(new Upload({ id: 'big', size: data.length, offset: 0 }));
    const cut = 2 * FLUSH_EVERY_BYTES + 7;
    // Many small pieces, as they come off a socket, then the rest in one request.
    const pieces = (b: Buffer): Buffer[] =>
      Array.from({ length: Math.ceil(b.length / 65_536) }, (_, i) => b.subarray(i * 65_536, (i + 1) * 65_536));
    expect(await store.write(Readable.from(pieces(data.subarray(0, cut))), 'big', 0)).toBe(cut);
    expect((await store.getUpload('big')).offset).toBe(cut);
    expect(await store.write(Readable.from(pieces(data.subarray(cut))), 'big', cut)).toBe(data.length);
    await store.sync('big');
    expect((await readFile(path.join(dir, 'big'))).equals(data)).toBe(true);
  });

  it('getUpload: offset from the data file, the rest from the info file, upstream errors for missing files', async () => {
    const store = new SafeFileStore({ directory: dir, expirationMs: 0 });
    await expect(store.getUpload('nothing')).rejects.toBe(ERRORS.FILE_NOT_FOUND);
    await store.create(new Upload({ id: 'u', size: 10, offset: 0, metadata: { title: 't' }, creation_date: '2026-01-01T00:00:00.000Z' }));
    await store.write(Readable.from([videoLikeBytes(8)]), 'u', 0);
    const u = await store.getUpload('u');
    expect([u.offset, u.size, u.metadata?.title, u.creation_date]).toEqual([8, 10, 't', '2026-01-01T00:00:00.000Z']);
    await rm(path.join(dir, 'u'));
    await expect(store.getUpload('u')).rejects.toBe(ERRORS.FILE_NO_LONGER_EXISTS);
  });
});
