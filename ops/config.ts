import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import { AnalyticsEnvShape, analyticsConfigFrom } from './analytics-config.ts';
import { LOG_LEVELS, type AppConfig } from './app-config.ts';
import { PrivacyEnvShape, privacyConfigFrom } from './privacy-config.ts';
import { WatermarkEnvShape, watermarkConfigFrom } from './watermark-config.ts';
import { StorageEnvShape, storageConfigFrom, storageEnvIssues } from './storage-config.ts';

/**
 * The only place that reads the environment. Everything else receives typed values from here.
 * Defaults run the whole pipeline on one machine.
 */
const EnvSchema = z
  .object({
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
    /**
     * Niceness of the ladder's ffmpeg (0–19; 0 = as the worker). The ladder is the one long CPU-bound task: niced, it
     * yields the cores to the API, the database, clamd and the strip, which is what a preview waits for, and takes
     * them back whenever they idle, so it takes no longer overall.
     */
    FFMPEG_NICE: z.coerce.number().int().min(0).max(19).default(10),
    /** libx264 preset for every rung (slower = smaller files, more CPU). */
    X264_PRESET: z
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'])
      .default('veryfast'),
    /** ffmpeg pool threads (concurrent ffmpeg children) per worker process; 0 = os.availableParallelism(). */
    TRANSCODE_POOL_SIZE: z.coerce.number().int().min(0).max(256).default(0),
    /** Grace between SIGTERM and SIGKILL when a transcode is cancelled or the worker shuts down. */
    TRANSCODE_KILL_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
    /**
     * Chunked encoding: sources at least CHUNK_MIN_SOURCE_SEC long are split into CHUNK_SECONDS chunks (a multiple of
     * the 6 s segment), each a job any worker on any host may take; 0 = never. Chunks of 30 s and more cost ~1 % CPU
     * over one piece, 6 s chunks ~11 % (bench/chunked-cost.ts).
     */
    CHUNK_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .refine((n) => n % 6 === 0, 'CHUNK_SECONDS must be a multiple of the 6 s segment length (or 0)')
      .default(60),
    CHUNK_MIN_SOURCE_SEC: z.coerce.number().int().min(1).default(300),
    /**
     * Chunk only when the chunk workers connected at that moment have this many job slots between them (their
     * WORKER_CONCURRENCY summed): with one slot, chunks run one after another and only add the wait for the scan and
     * the separate audio part. 1 = chunk whenever the source is long enough.
     */
    CHUNK_MIN_SLOTS: z.coerce.number().int().min(1).default(2),
    /** Attempts per transcode job (crashes, lost workers); bad input is never retried. */
    TRANSCODE_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
    /** First retry delay; doubles per attempt. */
    TRANSCODE_BACKOFF_MS: z.coerce.number().int().min(0).default(5000),
    /** BullMQ lockDuration: a job not renewed for this long counts as stalled (its worker died) and is re-queued. */
    JOB_LOCK_MS: z.coerce.number().int().min(1000).default(60_000),
    /** How often each worker checks for stalled jobs. */
    JOB_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
    /** Stalls a job may survive before it fails. */
    JOB_MAX_STALLED: z.coerce.number().int().min(0).max(20).default(2),
    /** First delay of a job waiting for an unavailable clamd, database, storage or disk (no attempt spent); doubles. */
    DEPENDENCY_BACKOFF_MS: z.coerce.number().int().min(100).default(5000),
    /** Longest delay between two tries of a waiting job: how late a job notices the dependency is back, at worst. */
    DEPENDENCY_BACKOFF_MAX_MS: z.coerce.number().int().min(1000).default(300_000),
    /** How often a worker re-queues unfinished videos whose job Redis lost (also once at start); one process at a time. */
    RECONCILE_INTERVAL_SEC: z.coerce.number().int().min(1).max(86_400).default(60),
    /** An unfinished video whose row has not changed for this long is logged once and counted as stuck; 0 = no check. */
    STUCK_VIDEO_MINUTES: z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(60),
    /** Worker-only processes serve GET /metrics on this port (the API serves its own); 0 = off. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(500 * 1024 * 1024),
    /** 64 hex chars (32 bytes): AES-256-GCM key for database backups; unset = backups are checksummed, not encrypted. */
    // '' counts as unset: compose passes `${BACKUP_ENCRYPTION_KEY:-}` through as an empty string.
    BACKUP_ENCRYPTION_KEY: z
      .union([z.literal(''), z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (openssl rand -hex 32)')])
      .optional(),
    /** pg_dump / pg_restore binaries; their major version must be ≥ the server's (15). */
    PG_DUMP_PATH: z.string().default('pg_dump'),
    PG_RESTORE_PATH: z.string().default('pg_restore'),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    /** clamd over a unix socket; wins over CLAMD_HOST/CLAMD_PORT. Default Debian's clamav-daemon socket unless those are set. */
    CLAMD_SOCKET: z.string().min(1).optional(),
    CLAMD_HOST: z.string().min(1).optional(),
    CLAMD_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Gives up on one clamd connection after this long without progress. */
    CLAMD_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
    /** Where infected uploads are moved; default DATA_DIR/quarantine. */
    QUARANTINE_DIR: z.string().min(1).optional(),
    /** Longest accepted video; longer ones are rejected with INGEST_TOO_LONG. */
    MAX_DURATION_SEC: z.coerce.number().positive().default(3600),
    /** HMAC key for upload tokens. Unset: random per process (fine for one API process; set it when running several). */
    UPLOAD_TOKEN_SECRET: z.string().min(32).optional(),
    /** Lifetime of an upload token: it only has to outlive the creation request. */
    UPLOAD_TOKEN_TTL_SEC: z.coerce.number().int().positive().default(900),
    /** Unfinished uploads are deleted this long after creation (tus expiration extension). */
    UPLOAD_EXPIRY_HOURS: z.coerce.number().positive().default(24),
    /** How often the API sweeps expired unfinished uploads; 0 disables the sweep. */
    UPLOAD_CLEANUP_INTERVAL_SEC: z.coerce.number().int().min(0).default(3600),
    /** Unfinished uploads one uploader may have open at once (0 = no limit). */
    UPLOAD_MAX_OPEN_PER_USER: z.coerce.number().int().min(0).default(5),
    /** Partial uploads (parallel-upload streams) one uploader may hold until they are concatenated (0 = no limit). */
    UPLOAD_MAX_OPEN_PARTIALS_PER_USER: z.coerce.number().int().min(0).default(32),
    /** Declared upload bytes one uploader may create per rolling 24 h (0 = no limit). */
    UPLOAD_MAX_BYTES_PER_DAY: z.coerce
      .number()
      .int()
      .min(0)
      .default(5 * 1024 ** 3),
    /**
     * How often each API process finishes complete uploads that have no video yet (a crash or database outage at the
     * last byte) and removes uploads no video needs any more; 0 = off.
     */
    UPLOAD_SWEEP_INTERVAL_SEC: z.coerce.number().int().min(0).default(60),
    /** tus requests (PATCH, HEAD, DELETE) per upload URL per RATE_LIMIT_WINDOW_MS, instead of the per-IP budget. */
    UPLOAD_RATE_LIMIT_PER_UPLOAD: z.coerce.number().int().min(1).default(600),
    /** Upload creations and upload-token requests per uploader per RATE_LIMIT_WINDOW_MS, instead of the per-IP budget. */
    UPLOAD_RATE_LIMIT_PER_USER: z.coerce.number().int().min(1).default(120),
    /**
     * Free bytes on the DATA_DIR volume kept for uploads in progress and for processing: new uploads that would eat
     * into it are refused (507 INGEST_DISK_FULL) and /readyz fails below it.
     */
    DISK_RESERVE_BYTES: z.coerce
      .number()
      .int()
      .min(0)
      .default(2 * 1024 ** 3),
    /** HS256 key for access tokens (>= 32 chars); or JWT_PUBLIC_KEY (PEM, RS256/ES256) when tokens come from an IdP. */
    JWT_SECRET: z.string().min(32).optional(),
    JWT_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY').optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    /** Longest accepted access-token lifetime (exp − iat); tokens without exp are always refused. */
    JWT_MAX_LIFETIME_SEC: z.coerce.number().int().min(60).default(86_400),
    /** HMAC key for playback URLs; unset → a random per-process key (signed URLs then die with the process). */
    PLAYBACK_SIGNING_KEY: z.string().min(32).optional(),
    PLAYBACK_URL_TTL_SEC: z.coerce
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(4 * 3600),
    /** Lifetime of owner and moderator preview URLs: a preview link someone forwarded dies this soon. */
    PLAYBACK_PREVIEW_TTL_SEC: z.coerce
      .number()
      .int()
      .min(10)
      .max(24 * 3600)
      .default(600),
    /**
     * How long an API process reuses a video's access state for /hls requests. Capped at 5 s because README promises
     * that revoked links stop within 5 s on every process.
     */
    PLAYBACK_ACCESS_CACHE_MS: z.coerce.number().int().min(0).max(5000).default(2000),
    /** Undo is for a misclick noticed at once; a long window would let an approval stand, then vanish (max 60 s). */
    MODERATION_UNDO_WINDOW_SEC: z.coerce.number().int().min(0).max(60).default(10),
    /** Viewers of approved videos may fetch progressive MP4 downloads too; off: only owners and moderators. */
    DOWNLOADS_FOR_VIEWERS: z.enum(['true', 'false']).default('false'),
    /** How often worker processes remove masters (and work dirs) of deleted or terminally rejected videos; 0 = off. */
    MASTER_SWEEP_INTERVAL_SEC: z.coerce.number().int().min(0).default(3600),
    /** Comma-separated origins allowed to embed the player (CORS on playback routes). */
    CORS_ORIGINS: z.string().default(''),
    RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(300),
    RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).default(60_000),
    /** How long /readyz reuses one result (its checks spawn ffmpeg and open connections); one run at a time. */
    READINESS_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
    /** Behind a reverse proxy: take the client IP (rate limits, logs) from X-Forwarded-For. */
    TRUST_PROXY: z.enum(['true', 'false']).default('false'),
    /** Comma-separated webhook receiver URLs; WEBHOOK_SECRET signs every delivery. */
    WEBHOOK_URLS: z.string().default(''),
    WEBHOOK_SECRET: z.string().min(16).optional(),
    WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).default(5000),
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    /** How often worker processes move stored webhook events from the outbox table into the delivery queue. */
    WEBHOOK_RELAY_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
    ...StorageEnvShape,
    ...AnalyticsEnvShape,
    ...PrivacyEnvShape,
    ...WatermarkEnvShape,
  })
  .refine((e) => !(e.JWT_SECRET && e.JWT_PUBLIC_KEY), { message: 'set JWT_SECRET or JWT_PUBLIC_KEY, not both', path: ['JWT_SECRET'] })
  .refine((e) => e.DEPENDENCY_BACKOFF_MAX_MS >= e.DEPENDENCY_BACKOFF_MS, {
    message: 'must be at least DEPENDENCY_BACKOFF_MS',
    path: ['DEPENDENCY_BACKOFF_MAX_MS'],
  })
  .refine((e) => e.WEBHOOK_URLS.trim() === '' || e.WEBHOOK_SECRET, {
    message: 'WEBHOOK_SECRET is required with WEBHOOK_URLS',
    path: ['WEBHOOK_SECRET'],
  });

const csv = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

/**
 * An empty variable counts as unset: compose passes `${NAME:-}` for every optional setting an operator may put in .env,
 * and an unset one arrives as ''. Without this, '' would fail e.g. a URL check instead of meaning "use the default".
 */
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
}

/** LocalSocket of Debian's clamav-daemon (/etc/clamav/clamd.conf); it listens on no TCP port by default. */
export const DEBIAN_CLAMD_SOCKET = '/run/clamav/clamd.ctl';

/** Every environment variable the app reads (docker-compose.yml is checked against this list in ops/test). */
export const ENV_KEYS: readonly string[] = Object.keys(EnvSchema.shape);

export type { AppConfig } from './app-config.ts';

/** Validates `env` once; throws OPS_CONFIG_INVALID listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = EnvSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new PipelineError('OPS_CONFIG_INVALID', `Invalid environment: ${issues.join('; ')}.`, { issues });
  }
  const e = parsed.data;
  const crossIssues = storageEnvIssues(e);
  if (crossIssues.length) {
    throw new PipelineError('OPS_CONFIG_INVALID', `Invalid environment: ${crossIssues.join('; ')}.`, { issues: crossIssues });
  }
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
    ffmpegNice: e.FFMPEG_NICE,
    x264Preset: e.X264_PRESET,
    transcodePoolSize: e.TRANSCODE_POOL_SIZE,
    transcodeKillTimeoutMs: e.TRANSCODE_KILL_TIMEOUT_MS,
    transcodeAttempts: e.TRANSCODE_ATTEMPTS,
    chunking: { chunkSec: e.CHUNK_SECONDS, minSourceSec: e.CHUNK_MIN_SOURCE_SEC, minSlots: e.CHUNK_MIN_SLOTS },
    transcodeBackoffMs: e.TRANSCODE_BACKOFF_MS,
    jobLockMs: e.JOB_LOCK_MS,
    jobStalledIntervalMs: e.JOB_STALLED_INTERVAL_MS,
    jobMaxStalled: e.JOB_MAX_STALLED,
    dependencyBackoff: { baseMs: e.DEPENDENCY_BACKOFF_MS, maxMs: e.DEPENDENCY_BACKOFF_MAX_MS },
    reconcileIntervalMs: e.RECONCILE_INTERVAL_SEC * 1000,
    stuckVideoMinutes: e.STUCK_VIDEO_MINUTES,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    backupEncryptionKey: e.BACKUP_ENCRYPTION_KEY ? Buffer.from(e.BACKUP_ENCRYPTION_KEY, 'hex') : undefined,
    pgDumpPath: e.PG_DUMP_PATH,
    pgRestorePath: e.PG_RESTORE_PATH,
    logLevel: e.LOG_LEVEL,
    clamd: {
      socket: e.CLAMD_SOCKET ?? (e.CLAMD_HOST || e.CLAMD_PORT ? undefined : DEBIAN_CLAMD_SOCKET),
      host: e.CLAMD_HOST ?? '127.0.0.1',
      port: e.CLAMD_PORT ?? 3310,
      timeoutMs: e.CLAMD_TIMEOUT_MS,
    },
    quarantineDir: e.QUARANTINE_DIR ? path.resolve(e.QUARANTINE_DIR) : path.join(dataDir, 'quarantine'),
    mastersDir: path.join(dataDir, 'masters'),
    maxDurationSec: e.MAX_DURATION_SEC,
    uploadTokenSecret: e.UPLOAD_TOKEN_SECRET ?? randomBytes(32).toString('base64url'),
    uploadTokenTtlSec: e.UPLOAD_TOKEN_TTL_SEC,
    uploadExpiryMs: Math.round(e.UPLOAD_EXPIRY_HOURS * 3600_000),
    uploadCleanupIntervalMs: e.UPLOAD_CLEANUP_INTERVAL_SEC * 1000,
    uploadSweepIntervalMs: e.UPLOAD_SWEEP_INTERVAL_SEC * 1000,
    diskReserveBytes: e.DISK_RESERVE_BYTES,
    uploadQuota: {
      maxOpenUploads: e.UPLOAD_MAX_OPEN_PER_USER,
      maxOpenPartials: e.UPLOAD_MAX_OPEN_PARTIALS_PER_USER,
      maxBytesPerDay: e.UPLOAD_MAX_BYTES_PER_DAY,
    },
    jwt: {
      secret: e.JWT_SECRET,
      publicKeyPem: e.JWT_PUBLIC_KEY,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      maxLifetimeSec: e.JWT_MAX_LIFETIME_SEC,
    },
    playback: {
      signingKey: e.PLAYBACK_SIGNING_KEY,
      ttlSec: e.PLAYBACK_URL_TTL_SEC,
      previewTtlSec: e.PLAYBACK_PREVIEW_TTL_SEC,
      accessCacheMs: e.PLAYBACK_ACCESS_CACHE_MS,
      viewerDownloads: e.DOWNLOADS_FOR_VIEWERS === 'true',
    },
    masterSweepIntervalMs: e.MASTER_SWEEP_INTERVAL_SEC * 1000,
    moderationUndoWindowMs: e.MODERATION_UNDO_WINDOW_SEC * 1000,
    corsOrigins: csv(e.CORS_ORIGINS),
    rateLimit: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
    uploadRateLimit: {
      perUpload: e.UPLOAD_RATE_LIMIT_PER_UPLOAD,
      perUser: e.UPLOAD_RATE_LIMIT_PER_USER,
      windowMs: e.RATE_LIMIT_WINDOW_MS,
    },
    trustProxy: e.TRUST_PROXY === 'true',
    readinessCacheMs: e.READINESS_CACHE_MS,
    webhooks: {
      urls: csv(e.WEBHOOK_URLS),
      secret: e.WEBHOOK_SECRET,
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      relayIntervalMs: e.WEBHOOK_RELAY_INTERVAL_MS,
    },
    storage: storageConfigFrom(e, dataDir),
    analytics: analyticsConfigFrom(e),
    privacy: privacyConfigFrom(e),
    watermark: watermarkConfigFrom(e),
  };
}
