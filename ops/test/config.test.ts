import { describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { loadConfig } from '../config.ts';
import { resolveFfmpeg } from '../ffmpeg-binaries.ts';

describe('loadConfig', () => {
  it('has single-machine defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.databaseUrl).toContain('127.0.0.1:5432');
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.maxUploadBytes).toBe(500 * 1024 * 1024);
    expect(c.clamd.socket).toBe('/run/clamav/clamd.ctl');
    expect(c.quarantineDir.endsWith('/data/quarantine')).toBe(true);
    expect(c.uploadExpiryMs).toBe(24 * 3600_000);
    expect(c.uploadTokenSecret.length).toBeGreaterThanOrEqual(32);
    expect(c.uploadQuota).toEqual({ maxOpenUploads: 5, maxOpenPartials: 32, maxBytesPerDay: 5 * 1024 ** 3 });
    expect(c.jwt.maxLifetimeSec).toBe(86_400);
    expect(c.readinessCacheMs).toBe(5000);
  });

  it('reads the upload quotas, token lifetime cap and readiness cache, and refuses nonsense', () => {
    const c = loadConfig({
      UPLOAD_MAX_OPEN_PER_USER: '0',
      UPLOAD_MAX_OPEN_PARTIALS_PER_USER: '8',
      UPLOAD_MAX_BYTES_PER_DAY: '1000',
      JWT_MAX_LIFETIME_SEC: '3600',
      READINESS_CACHE_MS: '0',
    });
    expect(c.uploadQuota).toEqual({ maxOpenUploads: 0, maxOpenPartials: 8, maxBytesPerDay: 1000 });
    expect([c.jwt.maxLifetimeSec, c.readinessCacheMs]).toEqual([3600, 0]);
    for (const env of [{ UPLOAD_MAX_OPEN_PER_USER: '-1' }, { UPLOAD_MAX_BYTES_PER_DAY: 'lots' }, { JWT_MAX_LIFETIME_SEC: '10' }]) {
      expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
    }
  });

  it('reads the dependency backoff (cap at least the first delay) and the webhook relay interval', () => {
    const d = loadConfig({});
    expect([d.dependencyBackoff, d.webhooks.relayIntervalMs]).toEqual([{ baseMs: 5000, maxMs: 300_000 }, 1000]);
    const c = loadConfig({ DEPENDENCY_BACKOFF_MS: '200', DEPENDENCY_BACKOFF_MAX_MS: '1000', WEBHOOK_RELAY_INTERVAL_MS: '100' });
    expect([c.dependencyBackoff, c.webhooks.relayIntervalMs]).toEqual([{ baseMs: 200, maxMs: 1000 }, 100]);
    for (const env of [{ DEPENDENCY_BACKOFF_MS: '9000', DEPENDENCY_BACKOFF_MAX_MS: '5000' }, { WEBHOOK_RELAY_INTERVAL_MS: '0' }]) {
      expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
    }
  });

  it('reads the reconciler interval, stuck threshold and worker metrics port, and refuses a zero interval', () => {
    const d = loadConfig({});
    expect([d.reconcileIntervalMs, d.stuckVideoMinutes, d.workerMetricsPort]).toEqual([60_000, 60, 0]);
    const c = loadConfig({ RECONCILE_INTERVAL_SEC: '5', STUCK_VIDEO_MINUTES: '0', WORKER_METRICS_PORT: '9464' });
    expect([c.reconcileIntervalMs, c.stuckVideoMinutes, c.workerMetricsPort]).toEqual([5000, 0, 9464]);
    for (const env of [{ RECONCILE_INTERVAL_SEC: '0' }, { STUCK_VIDEO_MINUTES: '-1' }]) {
      expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
    }
  });

  it('uses clamd over TCP when CLAMD_HOST or CLAMD_PORT is set, and refuses a short token secret', () => {
    expect(loadConfig({ CLAMD_PORT: '3311' }).clamd).toMatchObject({ socket: undefined, host: '127.0.0.1', port: 3311 });
    expect(loadConfig({ CLAMD_SOCKET: '/tmp/c.sock', CLAMD_PORT: '3311' }).clamd.socket).toBe('/tmp/c.sock');
    expect(() => loadConfig({ UPLOAD_TOKEN_SECRET: 'short' })).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
  });

  it('rejects invalid values with OPS_CONFIG_INVALID naming each variable', () => {
    try {
      loadConfig({ PORT: 'eighty', WORKER_CONCURRENCY: '0' });
      expect.unreachable();
    } catch (err) {
      expect(isPipelineError(err, 'OPS_CONFIG_INVALID')).toBe(true);
      const issues = (err as { context: { issues: string[] } }).context.issues;
      expect(issues.some((i) => i.startsWith('PORT'))).toBe(true);
      expect(issues.some((i) => i.startsWith('WORKER_CONCURRENCY'))).toBe(true);
    }
  });
});

describe('loadConfig: API keys', () => {
  it('parses lists and groups API settings', () => {
    const c = loadConfig({
      JWT_SECRET: 's'.repeat(32),
      CORS_ORIGINS: 'https://a.example, https://b.example',
      WEBHOOK_URLS: 'http://h/1,http://h/2',
      WEBHOOK_SECRET: 'w'.repeat(16),
      CLAMD_HOST: '127.0.0.1',
      CLAMD_PORT: '3311',
    });
    expect(c.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.webhooks.urls).toEqual(['http://h/1', 'http://h/2']);
    expect(c.clamd).toMatchObject({ socket: undefined, host: '127.0.0.1', port: 3311 });
    expect(c.playback.ttlSec).toBe(4 * 3600);
    expect(loadConfig({ CLAMD_SOCKET: '/run/clamd.sock' }).clamd.socket).toBe('/run/clamd.sock');
  });

  it('refuses a short JWT secret, two JWT keys, and webhooks without a secret', () => {
    for (const env of [
      { JWT_SECRET: 'short' },
      { JWT_SECRET: 's'.repeat(32), JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----x' },
      { WEBHOOK_URLS: 'http://h/1' },
    ]) {
      expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
    }
  });
});

describe('loadConfig: playback access and master sweep', () => {
  it('defaults to 10-minute previews, a 2 s access cache and an hourly sweep, and reads overrides', () => {
    const d = loadConfig({});
    expect(d.playback).toMatchObject({ previewTtlSec: 600, accessCacheMs: 2000 });
    expect(d.masterSweepIntervalMs).toBe(3600_000);
    const c = loadConfig({ PLAYBACK_PREVIEW_TTL_SEC: '120', PLAYBACK_ACCESS_CACHE_MS: '0', MASTER_SWEEP_INTERVAL_SEC: '0' });
    expect(c.playback).toMatchObject({ previewTtlSec: 120, accessCacheMs: 0 });
    expect(c.masterSweepIntervalMs).toBe(0);
  });

  it('refuses an access cache longer than the 5 s revocation bound README promises', () => {
    expect(() => loadConfig({ PLAYBACK_ACCESS_CACHE_MS: '5001' })).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
  });
});

describe('loadConfig: transcode worker settings', () => {
  it('defaults suit long transcodes and reads overrides', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({
      transcodePoolSize: 0,
      transcodeAttempts: 3,
      jobLockMs: 60_000,
      jobStalledIntervalMs: 30_000,
      jobMaxStalled: 2,
      x264Preset: 'veryfast',
      ffmpegNice: 10,
    });
    const c = loadConfig({
      TRANSCODE_POOL_SIZE: '4',
      JOB_LOCK_MS: '120000',
      X264_PRESET: 'medium',
      TRANSCODE_KILL_TIMEOUT_MS: '2000',
      FFMPEG_NICE: '0',
    });
    expect(c).toMatchObject({
      transcodePoolSize: 4,
      jobLockMs: 120_000,
      x264Preset: 'medium',
      transcodeKillTimeoutMs: 2000,
      ffmpegNice: 0,
    });
  });

  it('rejects an unknown x264 preset, a zero attempt count and a negative niceness', () => {
    try {
      loadConfig({ X264_PRESET: 'warp', TRANSCODE_ATTEMPTS: '0', FFMPEG_NICE: '-5' });
      expect.unreachable();
    } catch (err) {
      expect(isPipelineError(err, 'OPS_CONFIG_INVALID')).toBe(true);
      const issues = (err as { context: { issues: string[] } }).context.issues;
      expect(issues.some((i) => i.startsWith('X264_PRESET'))).toBe(true);
      expect(issues.some((i) => i.startsWith('TRANSCODE_ATTEMPTS'))).toBe(true);
      // A negative niceness would need privileges and put the ladder ahead of the API.
      expect(issues.some((i) => i.startsWith('FFMPEG_NICE'))).toBe(true);
    }
  });
});

describe('resolveFfmpeg', () => {
  it('falls back to the system ffmpeg when ffmpeg-static is absent', async () => {
    const b = await resolveFfmpeg();
    expect(b.version).toMatch(/^ffmpeg version/);
    expect(b.ffprobePath).toBe('ffprobe');
  });

  it('fails with OPS_FFMPEG_NOT_FOUND for a configured path that does not run', async () => {
    await expect(resolveFfmpeg({ ffmpegPath: '/nonexistent/ffmpeg' })).rejects.toMatchObject({ code: 'OPS_FFMPEG_NOT_FOUND' });
    await expect(resolveFfmpeg({ ffprobePath: '/nonexistent/ffprobe' })).rejects.toMatchObject({ code: 'OPS_FFMPEG_NOT_FOUND' });
  });
});

describe('backup settings', () => {
  it('defaults the archive under DATA_DIR and treats an empty key as no encryption', () => {
    const c = loadConfig({ DATA_DIR: '/srv/ks', BACKUP_ENCRYPTION_KEY: '' });
    expect(c.storage.archive).toMatchObject({ driver: 'none' });
    expect(c.backupEncryptionKey).toBeUndefined();
    expect(c.pgDumpPath).toBe('pg_dump');
    const k = loadConfig({ BACKUP_ENCRYPTION_KEY: 'ab'.repeat(32) }).backupEncryptionKey;
    expect(k?.length).toBe(32);
  });

  it('rejects a key that is not 32 bytes of hex', () => {
    expect(() => loadConfig({ BACKUP_ENCRYPTION_KEY: 'abc' })).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
  });
});
