import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { PackageSink } from '../packager/progressive.ts';
import { cacheControlFor, contentTypeFor } from './keys.ts';
import type { ObjectStorage } from './types.ts';

async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, r)));
    else out.push(r);
  }
  return out;
}

/**
 * Copies a finished package directory to storage under `prefix`. Media first, then media playlists, the master last:
 * a player that can fetch the master can fetch everything it names.
 */
export async function publishDirectory(storage: ObjectStorage, localDir: string, prefix: string): Promise<string[]> {
  const files = await filesUnder(localDir);
  const rank = (f: string): number => (f.endsWith('.m3u8') ? (f.includes('/') ? 1 : 2) : 0);
  files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const keys: string[] = [];
  for (const f of files) {
    const key = `${prefix}/${f}`;
    await storage.put(key, createReadStream(path.join(localDir, f)), { contentType: contentTypeFor(f), cacheControl: cacheControlFor(f) });
    keys.push(key);
  }
  return keys;
}

/** Adapts storage to the packager's sink: every package file lands under `prefix` with its type and cache policy. */
export function storageSink(storage: ObjectStorage, prefix: string): PackageSink {
  const opts = (rel: string) => ({ contentType: contentTypeFor(rel), cacheControl: cacheControlFor(rel) });
  return {
    putFile: (rel, localFile) => storage.put(`${prefix}/${rel}`, createReadStream(localFile), opts(rel)),
    putText: (rel, text) => storage.put(`${prefix}/${rel}`, Readable.from([Buffer.from(text)]), opts(rel)),
  };
}
