import { open } from 'node:fs/promises';
import { PipelineError } from '../core/errors.ts';
import { SNIFF_BYTES, sniffContainer } from '../media/container-sniff.ts';

/**
 * Looks at the first bytes of an upload while the PATCH that brings them is still being received, so a file that is
 * plainly not a video is refused (INGEST_NOT_VIDEO_FILE, 415) after a few KiB instead of after the whole file was
 * sent, stored and scanned. The decision is media/container-sniff.ts's; this only gathers the bytes: those already
 * stored by an earlier PATCH (a client that sent a tiny first chunk) plus those of the current one.
 */
export class HeadSniff {
  readonly #chunks: Uint8Array[];
  readonly #need: number;
  #have: number;
  #decided = false;

  constructor(prefix: Buffer, need: number) {
    this.#chunks = [prefix];
    this.#have = prefix.length;
    this.#need = need;
  }

  /**
   * A sniff for a PATCH at `offset` into the data file `file` of an upload of `size` bytes (undefined while the
   * length is deferred), or undefined when the head was already looked at by an earlier PATCH.
   */
  static async start(file: string, offset: number, size: number | undefined): Promise<HeadSniff | undefined> {
    // A file shorter than SNIFF_BYTES is judged on all of it.
    const need = Math.min(SNIFF_BYTES, size ?? SNIFF_BYTES);
    if (offset >= need) return undefined;
    return new HeadSniff(offset > 0 ? await readHead(file, offset) : Buffer.alloc(0), need);
  }

  /**
   * Takes the next chunk of the PATCH body; returns the refusal once enough bytes are in and they match no video
   * container, undefined otherwise (also for every chunk after the decision).
   */
  push(chunk: Uint8Array): PipelineError | undefined {
    if (this.#decided) return undefined;
    const take = chunk.subarray(0, this.#need - this.#have);
    this.#chunks.push(take);
    this.#have += take.length;
    if (this.#have < this.#need) return undefined;
    this.#decided = true;
    const head = Buffer.concat(this.#chunks, this.#have);
    this.#chunks.length = 0;
    if (sniffContainer(head) !== undefined) return undefined;
    return new PipelineError('INGEST_NOT_VIDEO_FILE', 'The start of the file matches no accepted video container.', {
      head: head.subarray(0, 16).toString('hex'),
    });
  }
}

/**
 * Judges the first bytes of a file made of `parts` joined in order (a tus final upload over its partials) before they
 * are joined: the head may span several small parts. Undefined when it looks like a video container (or is empty:
 * INGEST_EMPTY is the validator's), the refusal otherwise.
 */
export async function sniffJoined(
  parts: ReadonlyArray<{ readonly file: string; readonly size: number }>,
): Promise<PipelineError | undefined> {
  const total = parts.reduce((n, p) => n + p.size, 0);
  if (total === 0) return undefined;
  const sniff = new HeadSniff(Buffer.alloc(0), Math.min(SNIFF_BYTES, total));
  let have = 0;
  for (const part of parts) {
    if (have >= SNIFF_BYTES) break;
    const head = await readHead(part.file, Math.min(part.size, SNIFF_BYTES - have));
    have += head.length;
    const refused = sniff.push(head);
    if (refused || have >= Math.min(SNIFF_BYTES, total)) return refused;
  }
  return undefined;
}

async function readHead(file: string, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
