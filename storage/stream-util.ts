import { PipelineError, isPipelineError } from '../core/errors.ts';

const META_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
// S3 sends metadata as HTTP headers: printable ASCII only, and the whole set is capped at 2 KB.
const META_VALUE = /^[\x20-\x7e]{0,1024}$/;

/** Same rules on every backend, so metadata written to local disk would also survive S3. */
export function assertMetadata(metadata: Readonly<Record<string, string>> | undefined): void {
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (!META_NAME.test(k) || !META_VALUE.test(v)) {
      throw new PipelineError('STORAGE_BAD_METADATA', `Bad metadata entry ${JSON.stringify(k)}.`, { name: k });
    }
  }
}

/** Maps an abort (signal or destroyed body) to STORAGE_ABORTED; passes PipelineErrors through. */
export function toStorageError(err: unknown, key: string, signal: AbortSignal | undefined): unknown {
  if (isPipelineError(err)) return err;
  const name = err instanceof Error ? err.name : '';
  if (signal?.aborted || name === 'AbortError') {
    return new PipelineError('STORAGE_ABORTED', `Upload of ${key} was aborted.`, { key }, { cause: err });
  }
  return err;
}

/**
 * Re-chunks a byte stream into parts of exactly `partSize` bytes (the last may be shorter). At most about two parts are
 * held in memory at once, whatever the object size: this is what lets multipart uploads stream.
 */
export async function* partsOf(body: AsyncIterable<unknown>, partSize: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    pending.push(b);
    pendingBytes += b.length;
    while (pendingBytes >= partSize) {
      const all = Buffer.concat(pending, pendingBytes);
      yield all.subarray(0, partSize);
      const rest = all.subarray(partSize);
      pending = rest.length ? [Buffer.from(rest)] : [];
      pendingBytes = rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
