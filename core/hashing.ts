import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * Pass-through that hashes and counts the bytes flowing by, so data is checksummed in the same single read that
 * stores, uploads or copies it. Read the digest once, after the stream has ended.
 */
export class HashingStream extends Transform {
  private readonly hash: Hash;
  bytes = 0;

  /** `algorithm`: sha256 (default), or sha1 where a protocol asks for it (tus Upload-Checksum). */
  constructor(algorithm: 'sha1' | 'sha256' = 'sha256') {
    super();
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** Hex digest of everything that passed. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Raw digest bytes of everything that passed. */
  digestBytes(): Buffer {
    return this.hash.digest();
  }
}

/** sha256 (hex) and length of a whole stream, read in constant memory. */
export async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    hash.update(b);
    size += b.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** sha256 (hex) and size of a file, read in constant memory. */
export function sha256OfFile(file: string): Promise<{ sha256: string; size: number }> {
  return sha256Of(createReadStream(file));
}
