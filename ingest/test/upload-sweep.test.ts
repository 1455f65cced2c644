import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Upload } from '@tus/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { videoLikeBytes } from '../../test/helpers/tus-helpers.ts';
import { PARTIAL_PREFIX, SafeFileStore } from '../safe-file-store.ts';
import { sweepUploads, type UploadState } from '../upload-sweep.ts';

const MINUTE = 60_000;
const tusId = (): string => randomBytes(16).toString('hex');
const silent = { info: () => undefined, error: () => undefined };

describe('upload sweep', () => {
  let dir: string;
  let store: SafeFileStore;
  let now: number;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ks-sweep-'));
    store = new SafeFileStore({ directory: dir, expirationMs: 0 });
    now = Date.now() + 10 * MINUTE;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** An upload of `size` bytes with `written` of them stored, last changed `ageMs` before the sweep's clock. */
  async function seed(id: string, size: number, written: number, ageMs = 5 * MINUTE): Promise<string> {
    await store.create(new Upload({ id, size, offset: 0, creation_date: new Date().toISOString() }));
    if (written > 0) await store.write(Readable.from([videoLikeBytes(written)]), id, 0);
    await age(id, ageMs);
    return id;
  }
  async function age(name: string, ageMs: number): Promise<void> {
    const t = new Date(now - ageMs);
    for (const f of [name, `${name}.json`]) {
      // Half-created uploads lack one of the two files.
      await utimes(path.join(dir, f), t, t).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  it('finishes complete uploads without a video, removes those whose video is done with them, and leaves the rest', async () => {
    const stranded = await seed(tusId(), 10, 10);
    const states = new Map<string, UploadState>();
    const byState: Record<string, string> = {};
    for (const s of ['deleted', 'ready', 'rejected', 'infected', 'uploaded', 'processing', 'failed'] as const) {
      byState[s] = await seed(tusId(), 10, 10);
      states.set(byState[s]!, s);
    }
    const unfinished = await seed(tusId(), 10, 4);
    const partial = await seed(`${PARTIAL_PREFIX}${tusId()}`, 10, 10);
    const justWritten = await seed(tusId(), 10, 10, 5_000);
    await writeFile(path.join(dir, 'restored-8a6e0804-2bd0-4b7f-9c1b-8f1ef0b1f3a1'), 'master fetched back from the archive');
    const finished: string[] = [];
    const asked: string[][] = [];
    const r = await sweepUploads({
      store,
      now: () => now,
      logger: silent,
      statesOf: async (ids) => {
        asked.push([...ids]);
        return new Map([...states].filter(([id]) => ids.includes(id)));
      },
      finish: async (id) => {
        finished.push(id);
        return 'video-of-' + id;
      },
    });
    expect(r.finished).toEqual([stranded]);
    expect(finished).toEqual([stranded]);
    expect(r.removed.sort()).toEqual([byState['deleted'], byState['ready'], byState['rejected'], byState['infected']].sort());
    expect(r.leftovers).toEqual([]);
    // Only complete, non-partial uploads old enough are looked up.
    expect(asked.flat()).not.toContain(unfinished);
    expect(asked.flat()).not.toContain(partial);
    expect(asked.flat()).not.toContain(justWritten);
    const left = new Set(await readdir(dir));
    for (const id of [stranded, byState['uploaded'], byState['processing'], byState['failed'], unfinished, partial, justWritten]) {
      expect(left.has(id!) && left.has(`${id}.json`), id).toBe(true);
    }
    for (const id of r.removed) expect(left.has(id) || left.has(`${id}.json`)).toBe(false);
    expect(left.has('restored-8a6e0804-2bd0-4b7f-9c1b-8f1ef0b1f3a1')).toBe(true);
  });

  it('removes half-created uploads (data without info, info without data) once they are old, and keeps going past a failed finish', async () => {
    const dataOnly = tusId();
    await writeFile(path.join(dir, dataOnly), '');
    const infoOnly = tusId();
    await writeFile(path.join(dir, `${infoOnly}.json`), JSON.stringify({ id: infoOnly, size: 5, offset: 0 }));
    const corrupt = tusId();
    await writeFile(path.join(dir, corrupt), '');
    await writeFile(path.join(dir, `${corrupt}.json`), '{"id":'); // the disk filled up mid-write
    const fresh = tusId();
    await writeFile(path.join(dir, fresh), ''); // still being created
    for (const n of [dataOnly, infoOnly, corrupt]) await age(n, 5 * MINUTE);
    await age(fresh, 1_000);
    const failing = await seed(tusId(), 16, 16);
    const other = await seed(tusId(), 16, 16);
    const errors: unknown[] = [];
    const r = await sweepUploads({
      store,
      now: () => now,
      logger: { info: () => undefined, error: (o) => errors.push(o) },
      statesOf: async () => new Map(),
      finish: async (id) => {
        if (id === failing) throw new Error('connect ECONNREFUSED');
        return 'v';
      },
    });
    expect(r.leftovers.sort()).toEqual([dataOnly, infoOnly, corrupt].sort());
    expect(r.finished).toEqual([other]);
    expect(errors).toHaveLength(1);
    expect((await readdir(dir)).sort()).toEqual([failing, `${failing}.json`, fresh, other, `${other}.json`].sort());
  });
});
