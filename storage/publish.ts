import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { PackageSink } from '../packager/progressive.ts';
import { cacheControlFor, contentTypeFor } from './keys.ts';
import type { ObjectStorage } from './types.ts';

/** Adapts storage to the packager's sink: every package file lands under `prefix` with its type and cache policy. */
export function storageSink(storage: ObjectStorage, prefix: string): PackageSink {
  const opts = (rel: string) => ({ contentType: contentTypeFor(rel), cacheControl: cacheControlFor(rel) });
  return {
    putFile: (rel, localFile) => storage.put(`${prefix}/${rel}`, createReadStream(localFile), opts(rel)),
    putText: (rel, text) => storage.put(`${prefix}/${rel}`, Readable.from([Buffer.from(text)]), opts(rel)),
  };
}
