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
