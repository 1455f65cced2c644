import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError, type ErrorCode } from '../../core/errors.ts';
import { patternChunks } from '../../bench/pattern.ts';
import type { ObjectStorage } from '../types.ts';

export interface ConformanceSubject {
  readonly storage: ObjectStorage;
  /** Whether presignGet returns a fetchable URL (S3, local disk with a signer) or undefined (local disk without). */
  readonly presigns: boolean;
  /** Whether the URL server checks signatures (s3rver does not, see bench/s3rver-server.ts). */
  readonly checksSignatures: boolean;
  /** Bytes that force a multipart upload on this backend (0 when it has no multipart). */
  readonly multipartBytes: number;
  cleanup(): Promise<void>;
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPipelineError(err) ? err.code : err).toBe(code);
}

const text = (s: string): Readable => Readable.from([Buffer.from(s)]);

/**
 * The contract every ObjectStorage must meet (after tus-node-server's shared store tests). Each backend's test file
 * calls this with a factory; keys are prefixed per run so parallel sessions never collide.
 */
export function registerStorageConformance(name: string, factory: () => Promise<ConformanceSubject>): void {
  describe(`ObjectStorage conformance: ${name}`, () => {
    let s: ConformanceSubject;
    const p = `conf-${Date.now().toString(36)}`;
    beforeAll(async () => {
      s = await factory();
    });
    afterAll(async () => {
      await s?.cleanup();
    });

    it('round-trips bytes, content type, cache control and metadata', async () => {
      await s.storage.put(`${p}/a/seg.m4s`, text('hello world'), {
        contentType: 'video/iso.segment',
        cacheControl: 'public, max-age=31536000, immutable',
        metadata: { sha256: 'abc123' },
      });
      expect((await readAll(await s.storage.get(`${p}/a/seg.m4s`))).toString()).toBe('hello world');
      const info = await s.storage.head(`${p}/a/seg.m4s`);
      expect(info).toMatchObject({ size: 11, contentType: 'video/iso.segment', cacheControl: 'public, max-age=31536000, immutable' });
      expect(info?.metadata).toEqual({ sha256: 'abc123' });
    });

    it('derives the content type from the key when none is given', async () => {
      await s.storage.put(`${p}/b/index.m3u8`, text('#EXTM3U\n'));
      expect((await s.storage.head(`${p}/b/index.m3u8`))?.contentType).toBe('application/vnd.apple.mpegurl');
    });

    it('serves inclusive byte ranges', async () => {
      await s.storage.put(`${p}/r.bin`, text('0123456789'));
      expect((await readAll(await s.storage.get(`${p}/r.bin`, { start: 2, end: 5 }))).toString()).toBe('2345');
      expect((await readAll(await s.storage.get(`${p}/r.bin`, { start: 9, end: 9 }))).toString()).toBe('9');
    });

    it('overwrites an object together with its metadata', async () => {
      await s.storage.put(`${p}/o.bin`, text('first'), { metadata: { v: '1' } });
      await s.storage.put(`${p}/o.bin`, text('second!'), { metadata: { v: '2' } });
      const info = await s.storage.head(`${p}/o.bin`);
      expect(info?.size).toBe(7);
      expect(info?.metadata).toEqual({ v: '2' });
    });

    it('reports missing objects: head undefined, get STORAGE_NOT_FOUND, delete is a no-op', async () => {
      expect(await s.storage.head(`${p}/missing.bin`)).toBeUndefined();
      await expectCode(s.storage.get(`${p}/missing.bin`), 'STORAGE_NOT_FOUND');
      await s.storage.delete(`${p}/missing.bin`);
      await s.storage.put(`${p}/gone.bin`, text('x'));
      await s.storage.delete(`${p}/gone.bin`);
      expect(await s.storage.head(`${p}/gone.bin`)).toBeUndefined();
    });

    it('lists by prefix, sorted, without siblings that merely share a name start', async () => {
      for (const k of ['l/x/2.m4s', 'l/x/1.m4s', 'l/x/sub/3.m4s', 'l/xy/4.m4s', 'l/y.m4s']) await s.storage.put(`${p}/${k}`, text(k));
      expect(await s.storage.list(`${p}/l/x/`)).toEqual([`${p}/l/x/1.m4s`, `${p}/l/x/2.m4s`, `${p}/l/x/sub/3.m4s`]);
      expect(await s.storage.list(`${p}/l/x`)).toEqual([`${p}/l/x/1.m4s`, `${p}/l/x/2.m4s`, `${p}/l/x/sub/3.m4s`, `${p}/l/xy/4.m4s`]);
      expect(await s.storage.list(`${p}/nothing/`)).toEqual([]);
    });

    it('rejects unsafe keys and bad metadata with stable codes', async () => {
      for (const k of ['../etc/passwd', '/abs', 'a//b', 'a/./b', '']) await expectCode(s.storage.put(k, text('x')), 'STORAGE_BAD_KEY');
      await expectCode(s.storage.head('a/../../b'), 'STORAGE_BAD_KEY');
      await expectCode(s.storage.put(`${p}/m.bin`, text('x'), { metadata: { 'Bad Name': 'x' } }), 'STORAGE_BAD_METADATA');
    });

    it('aborted uploads reject with STORAGE_ABORTED and leave nothing visible', async () => {
      const ac = new AbortController();
      const total = Math.max(s.multipartBytes * 2, 1024 * 1024);
      let sent = 0;
      const body = Readable.from(
        (function* () {
          for (const c of patternChunks(total)) {
            sent += c.length;
            if (sent > total / 2) ac.abort();
            yield c;
          }
        })(),
      );
      await expectCode(s.storage.put(`${p}/aborted.bin`, body, { signal: ac.signal }), 'STORAGE_ABORTED');
      expect(await s.storage.head(`${p}/aborted.bin`)).toBeUndefined();
      expect(await s.storage.list(`${p}/aborted`)).toEqual([]);
    });

    it('streams a large object through and reads back identical bytes', async () => {
      const total = Math.max(s.multipartBytes, 256 * 1024) + 12_345;
      const want = createHash('sha256');
      for (const c of patternChunks(total)) want.update(c);
      await s.storage.put(`${p}/big.bin`, Readable.from(patternChunks(total)), { metadata: { sha256: 'x' } });
      const got = createHash('sha256');
      for await (const c of await s.storage.get(`${p}/big.bin`)) got.update(c as Buffer);
      expect(got.digest('hex')).toBe(want.digest('hex'));
      expect((await s.storage.head(`${p}/big.bin`))?.size).toBe(total);
    });

    it('presigned GET works with Range when the backend signs URLs, else is undefined', async () => {
      await s.storage.put(`${p}/pre.bin`, text('presigned-body'));
      const url = await s.storage.presignGet(`${p}/pre.bin`, { expiresInSec: 60 });
      if (!s.presigns) {
        expect(url).toBeUndefined();
        return;
      }
      expect(url).toBeTypeOf('string');
      const full = await fetch(url!);
      expect(full.status).toBe(200);
      expect(await full.text()).toBe('presigned-body');
      const part = await fetch(url!, { headers: { range: 'bytes=0-8' } });
      expect(part.status).toBe(206);
      expect(await part.text()).toBe('presigned');
      const head = await fetch(url!, { method: 'HEAD' }); // Stream's copy-from-URL HEADs first
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('14');
      if (!s.checksSignatures) return;
      const u = new URL(url!);
      u.pathname = u.pathname.replace('pre.bin', 'other.bin');
      expect((await fetch(u)).status).toBe(403); // a signature covers exactly one key
    });
  });
}
