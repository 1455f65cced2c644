import type { AnalyticsConfig } from './analytics-config.ts';
import type { PrivacyConfig } from './privacy-config.ts';
import type { StorageConfig } from './storage-config.ts';
import type { WatermarkConfig } from './watermark-config.ts';

/** pino levels LOG_LEVEL accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The validated configuration every composition root and CLI receives; ops/config.ts builds it from the environment. */
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
  /** Chunked encoding of long sources (CHUNK_SECONDS, CHUNK_MIN_SOURCE_SEC, CHUNK_MIN_SLOTS). */
  readonly chunking: { readonly chunkSec: number; readonly minSourceSec: number; readonly minSlots: number };
  readonly ffmpegThreads: number;
  /** FFMPEG_NICE: niceness of the ladder's ffmpeg. */
  readonly ffmpegNice: number;
  readonly x264Preset: string;
  readonly transcodePoolSize: number;
  readonly transcodeKillTimeoutMs: number;
  readonly transcodeAttempts: number;
  readonly transcodeBackoffMs: number;
  readonly jobLockMs: number;
  readonly jobStalledIntervalMs: number;
  readonly jobMaxStalled: number;
  /** Delays of a job waiting for an unavailable dependency: baseMs doubling up to maxMs, no attempt spent. */
  readonly dependencyBackoff: { readonly baseMs: number; readonly maxMs: number };
  /** Reconciler interval (RECONCILE_INTERVAL_SEC); it also runs once when a worker starts. */
  readonly reconcileIntervalMs: number;
  /** STUCK_VIDEO_MINUTES; 0 = no stuck-video check. */
  readonly stuckVideoMinutes: number;
  /** WORKER_METRICS_PORT: /metrics of a worker-only process; 0 = off. */
  readonly workerMetricsPort: number;
  readonly maxUploadBytes: number;
  readonly backupEncryptionKey: Buffer | undefined;
  readonly pgDumpPath: string;
  readonly pgRestorePath: string;
  readonly logLevel: LogLevel;
  /** Exactly one of socket or host+port is used; socket wins. */
  readonly clamd: { readonly socket: string | undefined; readonly host: string; readonly port: number; readonly timeoutMs: number };
  readonly quarantineDir: string;
  /** Metadata-stripped masters (the copy that goes on to the transcoder and the archive). */
  readonly mastersDir: string;
  readonly maxDurationSec: number;
  readonly uploadTokenSecret: string;
  readonly uploadTokenTtlSec: number;
  readonly uploadExpiryMs: number;
  readonly uploadCleanupIntervalMs: number;
  /** Upload sweep interval in API processes (finish stranded uploads, remove orphaned ones); 0 = off. */
  readonly uploadSweepIntervalMs: number;
  /** Free bytes kept on the data volume; upload creation and /readyz check against it. */
  readonly diskReserveBytes: number;
  /** Per-uploader limits enforced at tus creation (0 = no limit). */
  readonly uploadQuota: { readonly maxOpenUploads: number; readonly maxOpenPartials: number; readonly maxBytesPerDay: number };
  readonly jwt: {
    readonly secret: string | undefined;
    readonly publicKeyPem: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    readonly maxLifetimeSec: number;
  };
  readonly playback: {
    readonly signingKey: string | undefined;
    readonly ttlSec: number;
    readonly previewTtlSec: number;
    readonly accessCacheMs: number;
    /** DOWNLOADS_FOR_VIEWERS: viewers of approved videos may download progressive MP4s; default false. */
    readonly viewerDownloads: boolean;
  };
  /** Orphan-master sweep interval in worker processes; 0 = off (run `npm run sweep-masters` from cron instead). */
  readonly masterSweepIntervalMs: number;
  /** How long a moderator may undo a decision; 0 = no undo. */
  readonly moderationUndoWindowMs: number;
  readonly corsOrigins: readonly string[];
  /** Per client IP, for every route but the upload routes (which use uploadRateLimit). */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  readonly uploadRateLimit: { readonly perUpload: number; readonly perUser: number; readonly windowMs: number };
  readonly trustProxy: boolean;
  readonly readinessCacheMs: number;
  readonly webhooks: {
    readonly urls: readonly string[];
    readonly secret: string | undefined;
    readonly attempts: number;
    readonly backoffMs: number;
    readonly timeoutMs: number;
    /** Pause between outbox relay passes in worker processes. */
    readonly relayIntervalMs: number;
  };
  /** Publish bucket, master archive, retention and Cloudflare Stream (ops/storage-config.ts). */
  readonly storage: StorageConfig;
  /** Viewing analytics (ops/analytics-config.ts). */
  readonly analytics: AnalyticsConfig;
  /** Erasure pseudonyms and the retention of logs and raw events (ops/privacy-config.ts). */
  readonly privacy: PrivacyConfig;
  /** Overlay burned into every rung (ops/watermark-config.ts); undefined = off. */
  readonly watermark: WatermarkConfig | undefined;
}
