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
    expect(c.archiveDir).toBe('/srv/ks/archive');
    expect(c.backupEncryptionKey).toBeUndefined();
    expect(c.pgDumpPath).toBe('pg_dump');
    const k = loadConfig({ BACKUP_ENCRYPTION_KEY: 'ab'.repeat(32) }).backupEncryptionKey;
    expect(k?.length).toBe(32);
  });

  it('rejects a key that is not 32 bytes of hex', () => {
    expect(() => loadConfig({ BACKUP_ENCRYPTION_KEY: 'abc' })).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
  });
});
