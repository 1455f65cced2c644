import type { Logger } from '../core/logger.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { LocalUrlSigner } from '../storage/local-url-signer.ts';
import { S3Storage } from '../storage/s3.ts';
import { StreamClient } from '../storage/stream/client.ts';
import type { ObjectStorage } from '../storage/types.ts';
import type { AppConfig } from './config.ts';
import { LOCAL_ARCHIVE_URL_PATH, type S3Settings } from './storage-config.ts';

export interface Storages {
  /** Published HLS (local disk or the S3 publish bucket). */
  readonly publish: ObjectStorage;
  /** Master archive; undefined when ARCHIVE_DRIVER=none. */
  readonly archive: ObjectStorage | undefined;
  /** Cloudflare Stream client; undefined unless STREAM_ENABLED. */
  readonly stream: StreamClient | undefined;
  /** Present when a local archive signs URLs: the API must serve them (api/object-routes.ts). */
  readonly archiveUrls: { readonly prefix: string; readonly storage: ObjectStorage; readonly signer: LocalUrlSigner } | undefined;
  close(): Promise<void>;
}

const openS3 = (s: S3Settings): Promise<S3Storage> =>
  S3Storage.create({
    endpoint: s.endpoint,
    region: s.region,
    bucket: s.bucket,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    pathStyle: s.pathStyle,
    partSize: s.partSize,
  });

/** Builds the configured storage backends; S3 buckets are checked to exist (STORAGE_BUCKET_MISSING otherwise). */
export async function openStorages(config: AppConfig, logger: Logger): Promise<Storages> {
  const c = config.storage;
  const publish: ObjectStorage = c.publish.driver === 's3' ? await openS3(c.publish.s3) : new LocalDiskStorage({ root: config.publishDir });
  const signing = c.archive.driver === 'local' ? c.archive.urlSigning : undefined;
  const signer = signing ? new LocalUrlSigner(signing) : undefined;
  const archive: ObjectStorage | undefined =
    c.archive.driver === 's3'
      ? await openS3(c.archive.s3)
      : c.archive.driver === 'local'
        ? new LocalDiskStorage({ root: c.archive.dir, signer })
        : undefined;
  const archiveUrls = signer && archive ? { prefix: LOCAL_ARCHIVE_URL_PATH, storage: archive, signer } : undefined;
  const s = c.stream;
  const stream = s ? new StreamClient({ accountId: s.accountId, apiToken: s.apiToken, apiBase: s.apiBase, logger }) : undefined;
  let closing: Promise<void> | undefined;
  return {
    publish,
    archive,
    archiveUrls,
    stream,
    close: () => (closing ??= Promise.allSettled([publish.close(), archive?.close()]).then(() => undefined)),
  };
}
