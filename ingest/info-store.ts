import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ERRORS, FileKvStore, isPathInsideDirectory, type Upload } from '@tus/utils';

/** Info files kept in memory, least recently used dropped first: a few hundred bytes each. */
const MAX_CACHED = 1024;

/**
 * @tus/file-store's info files (`<id>.json`), read once and afterwards only when the file changed. Every PATCH and
 * HEAD looks its upload's info up, and reading a file (open, fstat, read, close) takes four trips through libuv's
 * threadpool where a stat takes one: with 8 MiB chunks those trips were a tenth of a PATCH on loopback. The cache is
 * checked against the file's inode, size and times on every read, so a rewrite or deletion by anyone else (a second
 * API process, the upload sweep) is seen at once. It keeps the JSON text, not the parsed object: callers modify what
 * get() returns (FileStore.declareUploadLength), which must not change the cache if the write that follows fails.
 */
export class CachedInfoStore extends FileKvStore<Upload> {
  readonly #cache = new Map<string, { readonly version: string; readonly json: string }>();

  override async get(key: string): Promise<Upload | undefined> {
    const file = this.#path(key);
    const version = await ifExists(stat(file, { bigint: true }).then((s) => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`));
    const hit = this.#cache.get(key);
    this.#cache.delete(key);
    if (version === undefined) return undefined;
    const json = hit?.version === version ? hit.json : await ifExists(readFile(file, 'utf8'));
    const info = json === undefined ? undefined : parse(json);
    if (json === undefined || info === undefined) return undefined;
    this.#cache.set(key, { version, json });
    if (this.#cache.size > MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    return info;
  }

  override async set(key: string, value: Upload): Promise<void> {
    this.#cache.delete(key);
    await super.set(key, value);
  }

  override async delete(key: string): Promise<void> {
    this.#cache.delete(key);
    await super.delete(key);
  }

  /** Path of `key`'s info file, checked like FileKvStore's own (its resolve() is private). */
  #path(key: string): string {
    const file = path.resolve(this.directory, `${key}.json`);
    if (!isPathInsideDirectory(this.directory, file)) throw ERRORS.FILE_NOT_FOUND;
    return file;
  }
}

/** The value, or undefined when the file is not there (deleted meanwhile counts as never written). */
async function ifExists<T>(p: Promise<T>): Promise<T | undefined> {
  return p.catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  });
}

/** Parsed info; undefined for a torn file (read while being written), as FileKvStore.get answers: the next get reads it again. */
function parse(json: string): Upload | undefined {
  try {
    return JSON.parse(json) as Upload;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}
