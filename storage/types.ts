import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Stored with the object and returned by head(); local disk derives it from the key when absent. */
  readonly contentType?: string;
  readonly cacheControl?: string;
  /**
   * Extra user metadata (e.g. sha256 of an archived master). Keys must be lowercase `[a-z0-9-]`: S3 lower-cases
   * `x-amz-meta-*` names, so anything else would not read back the same on every backend.
   */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Aborts the upload: the body is destroyed, nothing becomes visible under `key`, and put() rejects with STORAGE_ABORTED. */
  readonly signal?: AbortSignal;
}

export interface PresignOptions {
  /** Lifetime of the URL in seconds; default 3600, at most 7 days (the SigV4 limit). */
  readonly expiresInSec?: number;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  readonly cacheControl: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified: Date;
}

/** Inclusive byte range, as in HTTP Range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Object storage as the pipeline needs it; local disk and S3-compatible stores implement it. */
export interface ObjectStorage {
  /** Streams `body` to `key`; readers never see a partial object. */
  put(key: string, body: Readable, opts?: PutOptions): Promise<void>;
  /** Throws STORAGE_NOT_FOUND when missing. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys under `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * A time-limited URL that GETs (with Range) the object without credentials, or undefined when the backend has no
   * URL of its own (local disk without a LocalUrlSigner): callers then stream the bytes themselves, e.g. Stream
   * offload falls back to tus.
   */
  presignGet(key: string, opts?: PresignOptions): Promise<string | undefined>;
  /** Idempotent. */
  close(): Promise<void>;
}
