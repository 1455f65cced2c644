import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../s3.ts';
import { patternChunks } from '../../bench/pattern.ts';
import { startS3rver, type RunningS3rver } from '../../bench/s3rver-server.ts';
import { expectCode, registerStorageConformance } from './conformance.ts';

const PART = 5 * 1024 * 1024;

registerStorageConformance('S3Storage (s3rver)', async () => {
  const server = await startS3rver(['conformance']);
  const storage = await S3Storage.create({
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket: 'conformance',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    pathStyle: true,
    partSize: PART,
  });
  return {
    storage,
    presigns: true,
    checksSignatures: false,
    multipartBytes: 2 * PART,
    cleanup: async () => {
      await storage.close();
      await server.close();
    },
  };
});

describe('S3Storage specifics', () => {
  let server: RunningS3rver;
  beforeAll(async () => {
    server = await startS3rver(['specifics']);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('uploads big objects part by part, holding at most ~2 parts in memory', async () => {
    let produced = 0;
    let stored = 0;
    let maxAhead = 0;
    const parts: number[] = [];
    const storage = await S3Storage.create({
      endpoint: server.endpoint,
      bucket: 'specifics',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      partSize: PART,
      onPartUploaded: ({ partNumber, bytes }) => {
        parts.push(partNumber);
        stored += bytes;
      },
    });
    const total = 4 * PART + 100;
    const body = Readable.from(
      (function* () {
        for (const c of patternChunks(total)) {
          produced += c.length;
          maxAhead = Math.max(maxAhead, produced - stored);
          yield c;
        }
      })(),
    );
    await storage.put(`mp-${randomBytes(4).toString('hex')}.bin`, body);
    expect(parts).toEqual([1, 2, 3, 4, 5]);
    expect(stored).toBe(total);
    // Read-ahead is bounded by the part buffer (+ stream high-water marks), never by the object size.
    expect(maxAhead).toBeLessThan(3 * PART);
  });

  it('sends Content-Type, Cache-Control and x-amz-meta-* but never ACL headers (R2 rejects them)', async () => {
    const trace = new PassThrough();
    let log = '';
    trace.on('data', (c: Buffer) => (log += c.toString()));
    const storage = await S3Storage.create({
      endpoint: server.endpoint,
      bucket: 'specifics',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      partSize: PART,
      trace,
    });
    await storage.put('acl/small.m3u8', Readable.from([Buffer.from('#EXTM3U\n')]), {
      cacheControl: 'public, max-age=2',
      metadata: { sha256: 'abc' },
    });
    await storage.put('acl/big.bin', Readable.from(patternChunks(PART + 10)), { metadata: { sha256: 'def' } });
    expect(log).toMatch(/REQUEST: PUT \/specifics\/acl\/small\.m3u8/);
    expect(log).toMatch(/REQUEST: POST \/specifics\/acl\/big\.bin\?uploads/);
    expect(log).toMatch(/cache-control: public, max-age=2/i);
    expect(log).toMatch(/x-amz-meta-sha256: def/i);
    expect(log).not.toMatch(/x-amz-acl|x-amz-grant/i);
  });

  it('refuses to start against a missing bucket', async () => {
    await expectCode(
      S3Storage.create({
        endpoint: server.endpoint,
        bucket: 'no-such-bucket',
        accessKey: server.accessKey,
        secretKey: server.secretKey,
      }),
      'STORAGE_BUCKET_MISSING',
    );
  });

  it('maps an unreachable endpoint to STORAGE_BACKEND_FAILED', async () => {
    const storage = await S3Storage.create({
      endpoint: server.endpoint,
      bucket: 'specifics',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    await server.close();
    await expectCode(storage.head('x.bin'), 'STORAGE_BACKEND_FAILED');
  });
});
