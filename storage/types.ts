import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Stored with the object and returned by head(); local disk derives it from the key when absent. */
  readonly contentType?: string;
  readonly cacheControl?: string;
  /** Extra user metadata (e.g. sha256 of an archived master). */
  readonly metadata?: Readonly<Record<string, string>>;
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
  close(): Promise<void>;
}
