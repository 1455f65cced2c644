import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Analytics } from '../api/analytics/service.ts';
import { AnalyticsSessions } from '../api/analytics/session-token.ts';
import { createTokenVerifier } from '../api/auth.ts';
import { PlaybackSigner } from '../api/playback/signing.ts';
import type { LocalVideoFiles } from '../api/routes/videos.ts';
import { buildApi, type ApiOptions } from '../api/server.ts';
import type { VideoDeletionDeps } from '../pipeline/video-deletion.ts';
import { personalDataRoutes } from './personal-data-root.ts';
import { describeError } from '../core/errors.ts';
import { CaptionRepository } from '../db/captions.ts';
import { AnalyticsRepository } from '../db/analytics.ts';
import { UploadQuotaLedger } from '../db/upload-quota.ts';
import { VideoAdminRepository } from '../db/video-admin.ts';
import { DiskSpace } from '../ingest/disk-space.ts';
import { TusIngest } from '../ingest/tus.ts';
import { UploadTokens } from '../ingest/upload-token.ts';
import { DownloadBuilder } from '../pipeline/download.ts';
import { createUploadFinisher } from '../pipeline/intake.ts';
import { retryVideo } from '../pipeline/retry.ts';
import { applyStreamVideo } from '../pipeline/stream-offload.ts';
import { archiveKeyFor } from '../storage/archive/archive.ts';
import type { Cleanups } from './cleanups.ts';
import { videoFilesOf } from './master-sweep.ts';
import { createReadinessChecks } from './readiness.ts';
import type { SharedResources } from './shared-root.ts';
import { startUploadSweepTimer } from './upload-sweep.ts';

const PLAYER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'player');

export interface ApiRoleOptions {
  /** Whether this process also runs the worker role (then /readyz checks clamd, which only workers need). */
  readonly withWorker: boolean;
  /** Clock (ms) of playback signatures and the playback access cache; default Date.now. */
  readonly now?: () => number;
}

/**
 * tus ingest with upload tokens, per-uploader quotas and a disk reserve; finished uploads become a video row and a
 * queued job, and the upload sweep finishes those whose row could not be written at the time.
 */
function createTus(s: SharedResources, cleanups: Cleanups, disk: DiskSpace): { tus: TusIngest; uploadTokens: UploadTokens } {
  const { config, logger } = s;
  const uploadTokens = new UploadTokens({ secret: config.uploadTokenSecret, ttlSec: config.uploadTokenTtlSec });
  const bucket = s.sources.kind === 'bucket' ? s.sources : undefined;
  const finish = createUploadFinisher({
    videos: s.videos,
    queue: s.queue,
    logger,
    stageUpload: bucket && ((videoId, file) => bucket.stageUpload(videoId, file)),
  });
  const tus = new TusIngest({
    uploadDir: config.uploadDir,
    path: '/uploads',
    maxSize: config.maxUploadBytes,
    tokens: uploadTokens,
    expirationMs: config.uploadExpiryMs,
    logger,
    quota: new UploadQuotaLedger({ sql: s.sql, ...config.uploadQuota, expiryMs: config.uploadExpiryMs }),
    disk,
    finishedUpload: (id) => s.videos.finishedUpload(id),
    onFinished: async (u) => {
      const res = await finish(u);
      // Once per upload: a HEAD or the sweep finishing it again must not count its bytes again.
      if (res.created) s.metrics.uploadBytes.inc(u.size);
      return res;
    },
  });
  if (config.uploadCleanupIntervalMs > 0) {
    // tus expiration: sweep unfinished uploads past Upload-Expires; finished ones are never touched.
    const timer = setInterval(() => {
      tus.cleanUpExpired().then(
        (n) => n > 0 && logger.info({ removed: n }, 'expired uploads removed'),
        (err: unknown) => logger.error({ err: describeError(err) }, 'expired-upload sweep failed'),
      );
    }, config.uploadCleanupIntervalMs);
    timer.unref();
    cleanups.push(async () => clearInterval(timer));
  }
  if (config.uploadSweepIntervalMs > 0) {
    const sweep = startUploadSweepTimer({
      store: tus.store,
      finish: (id) => tus.completion.completeStored(id),
      statesOf: (ids) => s.videos.uploadStates(ids),
      refinishUploaded: bucket !== undefined,
      everyMs: config.uploadSweepIntervalMs,
      logger,
    });
    cleanups.push(() => sweep.stop());
  }
  return { tus, uploadTokens };
}

/** A deleted video's files: those on this host's data volume and, with the bucket, its upload and master objects. */
function filesOf(s: SharedResources): LocalVideoFiles {
  const local = videoFilesOf(s.config);
  return {
    removeVideo: async (videoId, sourceKey) => {
      const removed = await local.removeVideo(videoId, sourceKey);
      const objects = s.sources.kind === 'bucket' ? await s.sources.removeVideo(videoId) : 0;
      return { ...removed, master: removed.master || objects > 0 };
    },
  };
}

/** Beacon intake and roll-ups; session tokens are keyed off the playback signing key, like the URLs they go with. */
function analyticsOf(s: SharedResources, playbackKey: string, now: (() => number) | undefined): NonNullable<ApiOptions['analytics']> {
  const c = s.config.analytics;
  const sessions = new AnalyticsSessions({ key: playbackKey, ttlSec: c.sessionTtlSec, now });
  const repo = new AnalyticsRepository(s.sql);
  const analytics = new Analytics({
    repo,
    sessions,
    viewSec: c.viewSec,
    rawRetentionDays: c.rawRetentionDays,
    sessionRate: c.sessionRate,
    onWriteError: (err, events) => s.logger.error({ err: describeError(err), events }, 'analytics events lost: INSERT failed'),
    now,
  });
  return { analytics, sessions, ownedVideoIds: (uploaderId) => repo.videosOf(uploaderId), ipRate: c.ipRate };
}

/** The API process role: tus ingest, the fastify app and its readiness checks. Returns the listening app. */
export async function startApiRole(
  s: SharedResources,
  cleanups: Cleanups,
  o: ApiRoleOptions,
): Promise<{ api: FastifyInstance; url: string }> {
  const { config, logger, storages } = s;
  const disk = new DiskSpace({ path: config.dataDir, reserveBytes: config.diskReserveBytes });
  const { tus, uploadTokens } = createTus(s, cleanups, disk);
  const readiness = createReadinessChecks({
    disk,
    sql: s.sql,
    redisUrl: config.redisUrl,
    clamd: o.withWorker ? config.clamd : undefined,
    ffmpegPath: s.bin.ffmpegPath,
    storage: storages.publish,
  });
  cleanups.push(() => readiness.close());
  if (!config.playback.signingKey) logger.warn('PLAYBACK_SIGNING_KEY unset: using a random key; playback URLs die with this process');
  const sc = config.storage;
  const admin = new VideoAdminRepository(s.sql);
  const playbackKey = config.playback.signingKey ?? randomBytes(32).toString('hex');
  const deletion: VideoDeletionDeps = {
    admin,
    storage: storages.publish,
    files: filesOf(s),
    // Waiting jobs are removed; a running one is signalled and stops (its ffmpeg is killed) before publishing.
    cancelJob: async (id) => {
      await s.cancel(id);
    },
    archive: storages.archive ? { delete: (id) => storages.archive!.delete(archiveKeyFor(id)) } : undefined,
    stream: storages.stream,
  };
  const api = await buildApi({
    logger,
    videos: s.videos,
    tus,
    uploadTokens,
    playerDir: PLAYER_DIR,
    metrics: s.metrics,
    retryVideo: (id, actor, notes) =>
      retryVideo(
        {
          videos: s.videos,
          admin,
          queue: s.queue,
          redisUrl: config.redisUrl,
          prefix: config.queuePrefix,
          uploadDir: config.uploadDir,
          mastersDir: config.mastersDir,
          sources: s.sources,
        },
        id,
        actor,
        notes,
      ),
    verifier: createTokenVerifier(config.jwt),
    signer: new PlaybackSigner({
      key: playbackKey,
      ttlSec: config.playback.ttlSec,
      previewTtlSec: config.playback.previewTtlSec,
      now: o.now,
    }),
    playbackAccessCacheMs: config.playback.accessCacheMs,
    undoWindowMs: config.moderationUndoWindowMs,
    now: o.now,
    readiness: readiness.checks,
    readinessCacheMs: config.readinessCacheMs,
    corsOrigins: config.corsOrigins,
    rateLimit: config.rateLimit,
    uploadRateLimit: config.uploadRateLimit,
    trustProxy: config.trustProxy,
    ...deletion,
    // An erased video's entry in this process's playback access cache lapses within PLAYBACK_ACCESS_CACHE_MS.
    personalData: personalDataRoutes(s, deletion),
    streamWebhook: sc.stream?.webhookSecret
      ? { secret: sc.stream.webhookSecret, onVideo: (v) => applyStreamVideo(s.records, v) }
      : undefined,
    signedObjects: storages.archiveUrls ? [storages.archiveUrls] : [],
    captions: new CaptionRepository(s.sql),
    downloads: new DownloadBuilder({ storage: storages.publish, ffmpegPath: s.bin.ffmpegPath, logger }),
    viewerDownloads: config.playback.viewerDownloads,
    analytics: config.analytics.enabled ? analyticsOf(s, playbackKey, o.now) : undefined,
  });
  cleanups.push(() => api.close());
  const url = await api.listen({ host: config.host, port: config.port });
  logger.info({ url }, 'api listening');
  return { api, url };
}
