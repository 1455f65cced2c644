import path from 'node:path';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';

/**
 * The only place that reads the environment. Everything else receives typed values from here.
 * Defaults run the whole pipeline on one machine.
 */
const EnvSchema = z.object({
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Root for uploads, work dirs and the published HLS tree. */
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Prefix for BullMQ keys, so several deployments (or test runs) can share one Redis. */
  QUEUE_PREFIX: z.string().min(1).default('kidstream'),
  FFMPEG_PATH: z.string().optional(),
  FFPROBE_PATH: z.string().optional(),
  /** Concurrent transcode jobs per worker process. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** ffmpeg -threads per job; 0 lets ffmpeg pick from the core count. */
  FFMPEG_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(500 * 1024 * 1024),
  /** Archive bucket as a local directory (database backups, masters); S3 deployments point this at the S3 archive. */
  ARCHIVE_DIR: z.string().optional(),
  /** 64 hex chars (32 bytes): AES-256-GCM key for database backups; unset = backups are checksummed, not encrypted. */
  // '' counts as unset: compose passes `${BACKUP_ENCRYPTION_KEY:-}` through as an empty string.
  BACKUP_ENCRYPTION_KEY: z.union([z.literal(''), z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (openssl rand -hex 32)')]).optional(),
  /** pg_dump / pg_restore binaries; their major version must be ≥ the server's (15). */
  PG_DUMP_PATH: z.string().default('pg_dump'),
  PG_RESTORE_PATH: z.string().default('pg_restore'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every environment variable the app reads (docker-compose.yml is checked against this list in ops/test). */
export const ENV_KEYS: readonly string[] = Object.keys(EnvSchema.shape);

export interface AppConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly uploadDir: string;
  readonly workDir: string;
  readonly publishDir: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  readonly ffmpegPath: string | undefined;
  readonly ffprobePath: string | undefined;
  readonly workerConcurrency: number;
  readonly ffmpegThreads: number;
  readonly maxUploadBytes: number;
  readonly archiveDir: string;
  readonly backupEncryptionKey: Buffer | undefined;
  readonly pgDumpPath: string;
  readonly pgRestorePath: string;
  readonly logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

/** Validates `env` once; throws OPS_CONFIG_INVALID listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new PipelineError('OPS_CONFIG_INVALID', `Invalid environment: ${issues.join('; ')}.`, { issues });
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir,
    uploadDir: path.join(dataDir, 'uploads'),
    workDir: path.join(dataDir, 'work'),
    publishDir: path.join(dataDir, 'published'),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    workerConcurrency: e.WORKER_CONCURRENCY,
    ffmpegThreads: e.FFMPEG_THREADS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    archiveDir: e.ARCHIVE_DIR ? path.resolve(e.ARCHIVE_DIR) : path.join(dataDir, 'archive'),
    backupEncryptionKey: e.BACKUP_ENCRYPTION_KEY ? Buffer.from(e.BACKUP_ENCRYPTION_KEY, 'hex') : undefined,
    pgDumpPath: e.PG_DUMP_PATH,
    pgRestorePath: e.PG_RESTORE_PATH,
    logLevel: e.LOG_LEVEL,
  };
}
