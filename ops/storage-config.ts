import path from 'node:path';
import { z } from 'zod';

/**
 * Storage, archive and Stream variables. Kept beside config.ts, which merges this schema into its own and is
 * still the only module that reads process.env.
 */
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

export const StorageEnvShape = {
  /** Where published HLS goes: local disk under DATA_DIR/published, or an S3-compatible bucket. */
  STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
  S3_ENDPOINT: z.url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(3).optional(),
  S3_ACCESS_KEY: z.string().min(1).optional(),
  S3_SECRET_KEY: z.string().min(1).optional(),
  S3_PATH_STYLE: bool(true),
  /** Multipart part size (MiB) for both buckets; ≥ 5 (S3 minimum). */
  S3_PART_SIZE_MB: z.coerce.number().int().min(5).max(512).default(16),
  /** Where masters are archived after scan+strip; `none` skips the archive step. */
  ARCHIVE_DRIVER: z.enum(['none', 'local', 's3']).default('none'),
  ARCHIVE_DIR: z.string().optional(),
  /** With LOCAL_URL_SECRET: a local archive presigns URLs under `<PUBLIC_BASE_URL>/objects/archive` (Stream copy). */
  PUBLIC_BASE_URL: z.url().optional(),
  LOCAL_URL_SECRET: z.string().min(16).optional(),
  ARCHIVE_S3_ENDPOINT: z.url().optional(),
  /** R2 signs with region `auto`. */
  ARCHIVE_S3_REGION: z.string().min(1).default('auto'),
  ARCHIVE_S3_BUCKET: z.string().min(3).optional(),
  ARCHIVE_S3_ACCESS_KEY: z.string().min(1).optional(),
  ARCHIVE_S3_SECRET_KEY: z.string().min(1).optional(),
  ARCHIVE_S3_PATH_STYLE: bool(true),
  ARCHIVE_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Days a staging copy of an archived master is kept before the retention sweep deletes it. */
  STAGING_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  /** Hours between retention sweeps in worker processes; 0 disables the timer (run `npm run retention` instead). */
  STAGING_SWEEP_HOURS: z.coerce.number().min(0).default(6),
  STREAM_ENABLED: bool(false),
  STREAM_ACCOUNT_ID: z.string().min(1).optional(),
  STREAM_API_TOKEN: z.string().min(1).optional(),
  STREAM_API_BASE: z.url().default('https://api.cloudflare.com/client/v4'),
  STREAM_WEBHOOK_SECRET: z.string().min(8).optional(),
  STREAM_REQUIRE_SIGNED_URLS: bool(true),
};

/** API path under which a local archive's presigned URLs are served. */
export const LOCAL_ARCHIVE_URL_PATH = '/objects/archive';

type StorageEnv = z.infer<z.ZodObject<typeof StorageEnvShape>>;

export interface S3Settings {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly pathStyle: boolean;
  readonly partSize: number;
}

export interface StreamSettings {
  readonly accountId: string;
  readonly apiToken: string;
  readonly apiBase: string;
  readonly webhookSecret: string | undefined;
  readonly requireSignedURLs: boolean;
}

export interface StorageConfig {
  readonly publish: { readonly driver: 'local' } | { readonly driver: 's3'; readonly s3: S3Settings };
  readonly archive:
    | { readonly driver: 'none' }
    | {
        readonly driver: 'local';
        readonly dir: string;
        readonly urlSigning: { readonly baseUrl: string; readonly secret: string } | undefined;
      }
    | { readonly driver: 's3'; readonly s3: S3Settings };
  readonly archiveAttempts: number;
  readonly stagingRetentionDays: number;
  readonly stagingSweepHours: number;
  /** Undefined when STREAM_ENABLED is false. */
  readonly stream: StreamSettings | undefined;
}

/** Cross-field rules: a chosen driver needs its settings. Returns `VAR: message` issues. */
export function storageEnvIssues(e: StorageEnv): string[] {
  const need = (cond: boolean, vars: Array<keyof StorageEnv>): string[] =>
    cond ? vars.filter((v) => !e[v]).map((v) => `${v}: required`) : [];
  return [
    ...need(e.STORAGE_DRIVER === 's3', ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY']),
    ...need(e.ARCHIVE_DRIVER === 's3', ['ARCHIVE_S3_ENDPOINT', 'ARCHIVE_S3_BUCKET', 'ARCHIVE_S3_ACCESS_KEY', 'ARCHIVE_S3_SECRET_KEY']),
    ...need(e.STREAM_ENABLED, ['STREAM_ACCOUNT_ID', 'STREAM_API_TOKEN']),
    ...(e.STREAM_ENABLED && e.ARCHIVE_DRIVER === 'none'
      ? ['STREAM_ENABLED: needs ARCHIVE_DRIVER (offload starts from the archived master)']
      : []),
  ];
}

export function storageConfigFrom(e: StorageEnv, dataDir: string): StorageConfig {
  const partSize = e.S3_PART_SIZE_MB * 1024 * 1024;
  const s3 = (p: 'S3' | 'ARCHIVE_S3'): S3Settings => ({
    endpoint: e[`${p}_ENDPOINT`] ?? '',
    region: e[`${p}_REGION`],
    bucket: e[`${p}_BUCKET`] ?? '',
    accessKey: e[`${p}_ACCESS_KEY`] ?? '',
    secretKey: e[`${p}_SECRET_KEY`] ?? '',
    pathStyle: e[`${p}_PATH_STYLE`],
    partSize,
  });
  return {
    publish: e.STORAGE_DRIVER === 's3' ? { driver: 's3', s3: s3('S3') } : { driver: 'local' },
    archive:
      e.ARCHIVE_DRIVER === 's3'
        ? { driver: 's3', s3: s3('ARCHIVE_S3') }
        : e.ARCHIVE_DRIVER === 'local'
          ? {
              driver: 'local',
              dir: path.resolve(e.ARCHIVE_DIR ?? path.join(dataDir, 'archive')),
              urlSigning:
                e.PUBLIC_BASE_URL && e.LOCAL_URL_SECRET
                  ? { baseUrl: `${e.PUBLIC_BASE_URL.replace(/\/$/, '')}${LOCAL_ARCHIVE_URL_PATH}`, secret: e.LOCAL_URL_SECRET }
                  : undefined,
            }
          : { driver: 'none' },
    archiveAttempts: e.ARCHIVE_ATTEMPTS,
    stagingRetentionDays: e.STAGING_RETENTION_DAYS,
    stagingSweepHours: e.STAGING_SWEEP_HOURS,
    stream: e.STREAM_ENABLED
      ? {
          accountId: e.STREAM_ACCOUNT_ID ?? '',
          apiToken: e.STREAM_API_TOKEN ?? '',
          apiBase: e.STREAM_API_BASE,
          webhookSecret: e.STREAM_WEBHOOK_SECRET,
          requireSignedURLs: e.STREAM_REQUIRE_SIGNED_URLS,
        }
      : undefined,
  };
}
