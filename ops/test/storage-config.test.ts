import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

const issuesOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    expect(err).toMatchObject({ code: 'OPS_CONFIG_INVALID' });
    return (err as { context: { issues: string[] } }).context.issues;
  }
};

describe('storage configuration', () => {
  it('defaults to local publish, no archive, Stream off, 30-day retention', () => {
    const c = loadConfig({}).storage;
    expect(c).toMatchObject({ publish: { driver: 'local' }, archive: { driver: 'none' }, stagingRetentionDays: 30, stream: undefined });
  });

  it('builds R2-style archive settings (region auto, path style)', () => {
    const c = loadConfig({
      ARCHIVE_DRIVER: 's3',
      ARCHIVE_S3_ENDPOINT: 'https://acct.r2.cloudflarestorage.com',
      ARCHIVE_S3_BUCKET: 'masters',
      ARCHIVE_S3_ACCESS_KEY: 'a',
      ARCHIVE_S3_SECRET_KEY: 'b',
      S3_PART_SIZE_MB: '8',
    }).storage;
    expect(c.archive).toEqual({
      driver: 's3',
      s3: {
        endpoint: 'https://acct.r2.cloudflarestorage.com',
        region: 'auto',
        bucket: 'masters',
        accessKey: 'a',
        secretKey: 'b',
        pathStyle: true,
        partSize: 8 * 1024 * 1024,
      },
    });
  });

  it('lets a local archive sign URLs under PUBLIC_BASE_URL/objects/archive only with a secret', () => {
    const base = { ARCHIVE_DRIVER: 'local', ARCHIVE_DIR: '/srv/archive', PUBLIC_BASE_URL: 'https://videos.example/' };
    expect(loadConfig(base).storage.archive).toEqual({ driver: 'local', dir: '/srv/archive', urlSigning: undefined });
    expect(loadConfig({ ...base, LOCAL_URL_SECRET: '0123456789abcdef' }).storage.archive).toMatchObject({
      urlSigning: { baseUrl: 'https://videos.example/objects/archive', secret: '0123456789abcdef' },
    });
    expect(() => loadConfig({ ...base, LOCAL_URL_SECRET: 'short' })).toThrow(expect.objectContaining({ code: 'OPS_CONFIG_INVALID' }));
  });

  it('names every missing variable of a chosen driver', () => {
    expect(issuesOf({ STORAGE_DRIVER: 's3', S3_ENDPOINT: 'http://127.0.0.1:9000' })).toEqual([
      'S3_BUCKET: required',
      'S3_ACCESS_KEY: required',
      'S3_SECRET_KEY: required',
    ]);
    expect(issuesOf({ STREAM_ENABLED: 'true' }).map((i) => i.split(':')[0])).toEqual([
      'STREAM_ACCOUNT_ID',
      'STREAM_API_TOKEN',
      'STREAM_ENABLED',
    ]);
    expect(
      issuesOf({ S3_PART_SIZE_MB: '4', S3_PATH_STYLE: 'maybe' })
        .map((i) => i.split(':')[0])
        .sort(),
    ).toEqual(['S3_PART_SIZE_MB', 'S3_PATH_STYLE']);
  });
});
