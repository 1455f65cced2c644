import { addAbortSignal, type Readable, type Writable } from 'node:stream';
import { Client, type BucketItemStat } from 'minio';
import { PipelineError } from '../core/errors.ts';
import { assertSafeKey, contentTypeFor } from './keys.ts';
import { assertMetadata, partsOf, toStorageError } from './stream-util.ts';
import type { ByteRange, ObjectInfo, ObjectStorage, PresignOptions, PutOptions } from './types.ts';

export interface S3StorageOptions {
  /** Base URL of the S3 API, e.g. `http://127.0.0.1:9000` (MinIO) or `https://<account>.r2.cloudflarestorage.com` (R2). */
  readonly endpoint: string;
  /** SigV4 region; `auto` for R2, `us-east-1` for MinIO. Default `us-east-1`. */
  readonly region?: string;
  readonly bucket: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`. R2 and MinIO both want path style. Default true. */
  readonly pathStyle?: boolean;
  /** Multipart part size in bytes (S3 minimum 5 MiB; 10,000 parts max → 16 MiB allows 156 GiB). Default 16 MiB. */
  readonly partSize?: number;
  /** Called after each multipart part is stored (progress/metrics); not called for single-PUT objects. */
  readonly onPartUploaded?: (info: { readonly key: string; readonly partNumber: number; readonly bytes: number }) => void;
  /** HTTP trace sink (minio traceOn: request lines and headers, signatures redacted) for debugging a provider. */
  readonly trace?: Writable;
}

const MIN_PART = 5 * 1024 * 1024;
const STANDARD_HEADERS = new Set([
  'content-type',
  'cache-control',
  'content-encoding',
  'content-disposition',
  'content-language',
  'expires',
]);
const MAX_PRESIGN_SEC = 7 * 24 * 3600;

function s3Code(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const isNotFound = (err: unknown): boolean => ['NoSuchKey', 'NotFound', 'NoSuchObject'].includes(s3Code(err) ?? '');

function backendError(op: string, key: string, err: unknown): PipelineError {
  return new PipelineError(
    'STORAGE_BACKEND_FAILED',
    `S3 ${op} ${key} failed (${s3Code(err) ?? 'network'}).`,
    { key, op, s3Code: s3Code(err) },
    { cause: err },
  );
}

/**
 * S3-compatible object storage (MinIO, Cloudflare R2) through the `minio` client. Never sends ACL headers: R2 rejects
 * `x-amz-acl`, and access is granted by presigned URLs instead. Uploads are our own multipart loop over minio's part
 * calls rather than `putObject(stream)`, which resumes a stranger's incomplete upload of the same key, never aborts a
 * failed one, and hangs when its source stream errors.
 */
export class S3Storage implements ObjectStorage {
  readonly bucket: string;
  private readonly client: Client;
  private readonly partSize: number;
  private readonly onPart: S3StorageOptions['onPartUploaded'];

  private constructor(o: S3StorageOptions) {
    const url = new URL(o.endpoint);
    this.bucket = o.bucket;
    this.partSize = Math.max(MIN_PART, o.partSize ?? 16 * 1024 * 1024);
    this.onPart = o.onPartUploaded;
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      useSSL: url.protocol === 'https:',
      region: o.region ?? 'us-east-1',
      accessKey: o.accessKey,
      secretKey: o.secretKey,
      pathStyle: o.pathStyle ?? true,
    });
    if (o.trace) this.client.traceOn(o.trace);
  }

  /** Connects and checks that the bucket exists (STORAGE_BUCKET_MISSING otherwise); never creates buckets. */
  static async create(o: S3StorageOptions): Promise<S3Storage> {
    const s = new S3Storage(o);
    const exists = await s.client.bucketExists(o.bucket).catch((err: unknown) => {
      throw backendError('HEAD bucket', o.bucket, err);
    });
    if (!exists)
      throw new PipelineError('STORAGE_BUCKET_MISSING', `Bucket ${o.bucket} does not exist at ${o.endpoint}.`, { bucket: o.bucket });
    return s;
  }

  private headersFor(key: string, opts: PutOptions): Record<string, string> {
    const h: Record<string, string> = { 'Content-Type': opts.contentType ?? contentTypeFor(key) };
    if (opts.cacheControl) h['Cache-Control'] = opts.cacheControl;
    for (const [k, v] of Object.entries(opts.metadata ?? {})) h[`X-Amz-Meta-${k}`] = v;
    return h;
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    assertSafeKey(key);
    assertMetadata(opts.metadata);
    const headers = this.headersFor(key, opts);
    try {
      opts.signal?.throwIfAborted();
      if (opts.signal) addAbortSignal(opts.signal, body);
      const parts = partsOf(body, this.partSize);
      const first = await parts.next();
      const second = first.done ? first : await parts.next();
      if (second.done) {
        // One part or less: a plain PUT, already bounded by partSize in memory.
        const buf = first.done ? Buffer.alloc(0) : first.value;
        await this.client.putObject(this.bucket, key, buf, buf.length, headers);
        return;
      }
      await this.multipart(key, headers, [first.value, second.value], parts, opts.signal);
    } catch (err) {
      body.destroy();
      const mapped = toStorageError(err, key, opts.signal);
      throw mapped instanceof PipelineError ? mapped : backendError('PUT', key, err);
    }
  }

  private async multipart(
    key: string,
    headers: Record<string, string>,
    head: Buffer[],
    rest: AsyncGenerator<Buffer>,
    signal?: AbortSignal,
  ): Promise<void> {
    const uploadId = await this.client.initiateNewMultipartUpload(this.bucket, key, headers);
    const etags: Array<{ part: number; etag: string }> = [];
    try {
      const upload = async (buf: Buffer): Promise<void> => {
        signal?.throwIfAborted();
        const partNumber = etags.length + 1;
        const r = await this.client.uploadPart(
          { bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber, headers: { 'Content-Length': buf.length } },
          buf,
        );
        etags.push({ part: partNumber, etag: r.etag });
        this.onPart?.({ key, partNumber, bytes: buf.length });
      };
      for (const b of head) await upload(b);
      for await (const b of rest) await upload(b);
      signal?.throwIfAborted();
      // Only completion makes the object visible: an aborted or failed upload leaves no partial object behind.
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
    } catch (err) {
      // Best effort: frees the stored parts. Some S3 clones (s3rver) lack AbortMultipartUpload; the parts stay invisible.
      await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    try {
      if (range) return await this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1);
      return await this.client.getObject(this.bucket, key);
    } catch (err) {
      if (isNotFound(err)) throw new PipelineError('STORAGE_NOT_FOUND', `No object ${key}.`, { key });
      throw backendError('GET', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    let st: BucketItemStat;
    try {
      st = await this.client.statObject(this.bucket, key);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw backendError('HEAD', key, err);
    }
    const meta: Record<string, string> = {};
    let contentType = contentTypeFor(key);
    let cacheControl: string | undefined;
    for (const [rawK, v] of Object.entries(st.metaData as Record<string, unknown>)) {
      const k = rawK.toLowerCase();
      const value = String(v);
      if (k === 'content-type') contentType = value;
      else if (k === 'cache-control') cacheControl = value;
      else if (!STANDARD_HEADERS.has(k) && !k.startsWith('x-amz-')) meta[k] = value;
    }
    return { key, size: st.size, contentType, cacheControl, metadata: meta, lastModified: st.lastModified };
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.client.removeObject(this.bucket, key).catch((err: unknown) => {
      if (!isNotFound(err)) throw backendError('DELETE', key, err);
    });
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const o of this.client.listObjectsV2(this.bucket, prefix, true)) {
        const name = (o as { name?: unknown }).name;
        if (typeof name === 'string') out.push(name);
      }
    } catch (err) {
      throw backendError('LIST', prefix, err);
    }
    return out.sort();
  }

  async presignGet(key: string, opts: PresignOptions = {}): Promise<string> {
    assertSafeKey(key);
    const expires = Math.min(MAX_PRESIGN_SEC, Math.max(1, Math.floor(opts.expiresInSec ?? 3600)));
    return this.client.presignedGetObject(this.bucket, key, expires);
  }

  async close(): Promise<void> {}
}
