import { AsyncLocalStorage } from 'node:async_hooks';
import { PipelineError } from '../core/errors.ts';

/**
 * tus checksum extension (https://tus.io/protocols/resumable-upload#checksum): sha1 is the algorithm every server
 * MUST support; sha256 is offered too. Advertised in Tus-Checksum-Algorithm on OPTIONS.
 */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export const CHECKSUM_HEADER = 'Upload-Checksum';

export interface ChecksumExpectation {
  readonly algorithm: ChecksumAlgorithm;
  /** Raw digest bytes the PATCH body must hash to. */
  readonly digest: Buffer;
}

const DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = { sha1: 20, sha256: 32 };

/** Parses `Upload-Checksum: <algorithm> <base64 digest>`; unsupported or malformed → INGEST_CHECKSUM_UNSUPPORTED (400). */
export function parseChecksumHeader(value: string): ChecksumExpectation {
  const [name, b64, extra] = value.trim().split(/\s+/);
  const algorithm = CHECKSUM_ALGORITHMS.find((a) => a === name?.toLowerCase());
  if (!algorithm || !b64 || extra !== undefined) {
    throw new PipelineError('INGEST_CHECKSUM_UNSUPPORTED', `Unsupported Upload-Checksum "${value.slice(0, 100)}".`);
  }
  const digest = Buffer.from(b64, 'base64');
  if (digest.length !== DIGEST_BYTES[algorithm]) {
    throw new PipelineError('INGEST_CHECKSUM_UNSUPPORTED', `A ${algorithm} digest has ${DIGEST_BYTES[algorithm]} bytes.`);
  }
  return { algorithm, digest };
}

/**
 * The expectation of the PATCH being handled. @tus/server v2 gives the data store only (stream, id, offset), so the
 * front handler runs the tus handler inside this scope and the store's write() reads it; the write happens under the
 * upload's lock, before onUploadFinish, which is exactly where a mismatching chunk must be rejected.
 */
export const checksumScope = new AsyncLocalStorage<ChecksumExpectation>();
