/**
 * Deterministic bytes generated lazily, so the big objects of storage tests and benchmarks are never held in memory by
 * the generator.
 */
export function* patternChunks(total: number, chunk = 64 * 1024): Generator<Buffer> {
  let sent = 0;
  let n = 0;
  while (sent < total) {
    const len = Math.min(chunk, total - sent);
    const b = Buffer.alloc(len, n++ % 251);
    if (len >= 4) b.writeUInt32BE(sent >>> 0, 0); // offsets make misplaced parts change the hash
    sent += len;
    yield b;
  }
}
