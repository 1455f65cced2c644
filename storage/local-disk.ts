import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PipelineError } from '../core/errors.ts';
import { assertSafeKey, contentTypeFor } from './keys.ts';
import type { LocalUrlSigner } from './local-url-signer.ts';
import { assertMetadata, toStorageError } from './stream-util.ts';
import type { ByteRange, ObjectInfo, ObjectStorage, PresignOptions, PutOptions } from './types.ts';

export interface LocalDiskStorageOptions {
  /** Directory that holds every object; created on first write. */
  readonly root: string;
  /** Signs presigned GET URLs served by the API; without it presignGet returns undefined. */
  readonly signer?: LocalUrlSigner;
}

const META_SUFFIX = '.meta.json';

interface SideMeta {
  contentType?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

/** Objects as files under one root; metadata in a sidecar `<key>.meta.json` only when the caller set any. */
export class LocalDiskStorage implements ObjectStorage {
  readonly root: string;
  private readonly signer: LocalUrlSigner | undefined;

  constructor(opts: LocalDiskStorageOptions) {
    this.root = path.resolve(opts.root);
    this.signer = opts.signer;
  }

  /** Absolute path of `key`, checked to stay inside the root. */
  pathOf(key: string): string {
    const p = path.resolve(this.root, assertSafeKey(key));
    if (!p.startsWith(this.root + path.sep)) throw new PipelineError('STORAGE_BAD_KEY', `Key escapes root.`, { key });
    return p;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    const dest = this.pathOf(key);
    if (key.endsWith(META_SUFFIX) || key.endsWith('.part')) throw new PipelineError('STORAGE_BAD_KEY', 'Reserved key suffix.', { key });
    assertMetadata(opts.metadata);
    await mkdir(path.dirname(dest), { recursive: true });
    // Write-then-rename: readers see the old object or the whole new one, never a prefix.
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`;
    try {
      opts.signal?.throwIfAborted();
      if (opts.signal) addAbortSignal(opts.signal, body);
      await pipeline(body, createWriteStream(tmp));
      const meta: SideMeta = { contentType: opts.contentType, cacheControl: opts.cacheControl, metadata: opts.metadata };
      if (opts.contentType || opts.cacheControl || opts.metadata) await writeFile(dest + META_SUFFIX, JSON.stringify(meta));
      else await rm(dest + META_SUFFIX, { force: true });
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw toStorageError(err, key, opts.signal);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const p = this.pathOf(key);
    const info = await this.head(key);
    if (!info) throw new PipelineError('STORAGE_NOT_FOUND', `No object ${key}.`, { key });
    return createReadStream(p, range ? { start: range.start, end: range.end } : {});
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const p = this.pathOf(key);
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (!st?.isFile()) return undefined;
    const meta = await readFile(p + META_SUFFIX, 'utf8').then(
      (t) => JSON.parse(t) as SideMeta,
      () => ({}) as SideMeta,
    );
    return {
      key,
      size: st.size,
      contentType: meta.contentType ?? contentTypeFor(key),
      cacheControl: meta.cacheControl,
      metadata: meta.metadata ?? {},
      lastModified: st.mtime,
    };
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    await rm(p, { force: true });
    await rm(p + META_SUFFIX, { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (!e.name.endsWith(META_SUFFIX) && !e.name.endsWith('.part'))
          out.push(path.relative(this.root, full).split(path.sep).join('/'));
      }
    };
    // Only walk the directory the prefix names, not the whole store.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? this.pathOf(dirPart) : this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  /** HMAC-signed URL served by the API (api/object-routes.ts) when a signer is configured, else undefined. */
  async presignGet(key: string, opts: PresignOptions = {}): Promise<string | undefined> {
    this.pathOf(key);
    return this.signer?.sign(key, opts.expiresInSec);
  }

  /**
   * Deletes `.part` temp files older than `olderThanMs`: what a killed process leaves behind mid-put (never visible to
   * readers, but it holds disk). Returns the number removed. Run from the worker's maintenance timer. `nowMs` (ms since
   * the epoch, default the current time) lets tests age files without waiting.
   */
  async sweepPartials(olderThanMs: number, nowMs: number = Date.now()): Promise<number> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const e of entries) {
      if (!e.isFile() || !/\.[0-9a-f]{12}\.part$/.test(e.name)) continue;
      const p = path.join(e.parentPath, e.name);
      const st = await stat(p).catch(() => undefined);
      if (st && nowMs - st.mtimeMs > olderThanMs) {
        await rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}
