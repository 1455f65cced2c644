import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface RunningS3rver {
  readonly endpoint: string;
  /** s3rver accepts these fixed credentials (see its README). */
  readonly accessKey: string;
  readonly secretKey: string;
  /** Stops the server and removes its data directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * An S3 clone on 127.0.0.1 with a random port and its own temp directory (MinIO has no package here).
 * Known gaps, checked while building storage/s3.ts: no ListMultipartUploads, no AbortMultipartUpload, and it does not
 * check presigned-URL signatures, so "tampered URL rejected" is only tested against real S3/MinIO, not here.
 */
export async function startS3rver(buckets: readonly string[]): Promise<RunningS3rver> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const addr = await server.run();
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    close: () => {
      closing ??= (async () => {
        await server.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
