import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { installErrorHandler } from '../../api/errors.ts';
import { registerSignedObjectRoutes } from '../../api/object-routes.ts';
import { LocalDiskStorage } from '../local-disk.ts';
import { LocalUrlSigner } from '../local-url-signer.ts';
import { registerStorageConformance } from './conformance.ts';

async function localSubject(withSigner: boolean) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ks-local-'));
  const app = Fastify();
  installErrorHandler(app);
  const secret = 'local-url-secret-0123456789';
  // The base URL is only known after listen(), routes must exist before it: verification needs only the secret, so the
  // route gets its own signer and store instance over the same root.
  const verifier = new LocalUrlSigner({ secret, baseUrl: '/' });
  registerSignedObjectRoutes(app, { prefix: '/objects/store', storage: new LocalDiskStorage({ root }), signer: verifier });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const signer = new LocalUrlSigner({ secret, baseUrl: `${base}/objects/store` });
  const storage = new LocalDiskStorage({ root, signer: withSigner ? signer : undefined });
  return {
    storage,
    presigns: withSigner,
    checksSignatures: true,
    multipartBytes: 0,
    cleanup: async () => {
      // No temp upload files (.part) may survive any test, including the aborted one.
      const left = await readdir(root, { recursive: true });
      if (left.some((f) => f.endsWith('.part'))) throw new Error(`leftover .part files: ${left.join(', ')}`);
      await app.close();
      await storage.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

registerStorageConformance('LocalDiskStorage (HMAC-signed URLs served by the API)', () => localSubject(true));
registerStorageConformance('LocalDiskStorage (no signer)', () => localSubject(false));

describe('local presigned URLs', () => {
  it('rejects expired and tampered URLs with stable codes', async () => {
    let now = Date.parse('2026-11-23T10:00:00Z');
    const signer = new LocalUrlSigner({ secret: 'local-url-secret-0123456789', baseUrl: 'http://h/objects', now: () => now });
    const url = new URL(signer.sign('masters/a b', 60));
    expect(url.pathname).toBe('/objects/masters/a%20b');
    const exp = url.searchParams.get('exp') ?? undefined;
    const sig = url.searchParams.get('sig') ?? undefined;
    expect(() => signer.verify('masters/a b', exp, sig)).not.toThrow();
    expect(() => signer.verify('masters/a b', String(Number(exp) + 3600), sig)).toThrow(
      expect.objectContaining({ code: 'STORAGE_URL_INVALID' }),
    );
    expect(() => signer.verify('masters/a b', exp, undefined)).toThrow(expect.objectContaining({ code: 'STORAGE_URL_INVALID' }));
    now += 61_000;
    expect(() => signer.verify('masters/a b', exp, sig)).toThrow(expect.objectContaining({ code: 'STORAGE_URL_EXPIRED' }));
  });

  it('sweeps stale .part files a killed put left behind, and only those', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'ks-local-'));
    try {
      const s = new LocalDiskStorage({ root });
      await mkdir(path.join(root, 'masters'), { recursive: true });
      const stale = path.join(root, 'masters', 'a.0123456789ab.part');
      const fresh = path.join(root, 'masters', 'b.0123456789ab.part');
      await writeFile(stale, 'x');
      await writeFile(fresh, 'x');
      await s.put('masters/keep.part.bin', Readable.from([Buffer.from('object')]));
      const now = new Date();
      await utimes(stale, new Date(now.getTime() - 2 * 3600_000), new Date(now.getTime() - 2 * 3600_000));
      expect(await s.sweepPartials(3600_000, now.getTime())).toBe(1);
      expect((await readdir(path.join(root, 'masters'))).sort()).toEqual(['b.0123456789ab.part', 'keep.part.bin']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('signed object routes serve one byte range and refuse any other Range with STORAGE_RANGE_INVALID', async () => {
    const s = await localSubject(true);
    try {
      await s.storage.put('r/ten.bin', Readable.from([Buffer.from('0123456789')]));
      const url = await s.storage.presignGet('r/ten.bin');
      const get = (range: string): Promise<Response> => fetch(url!, { headers: { range } });
      const part = await get('bytes=-3');
      expect([part.status, part.headers.get('content-range'), await part.text()]).toEqual([206, 'bytes 7-9/10', '789']);
      for (const h of ['bytes=10-12', 'bytes=5-2', 'bytes=0-1,4-5', 'items=0-1', 'bytes=-']) {
        const res = await get(h);
        const body = (await res.json()) as { error?: { code?: string } };
        expect({ h, status: res.status, code: body.error?.code }).toEqual({ h, status: 416, code: 'STORAGE_RANGE_INVALID' });
      }
    } finally {
      await s.cleanup();
    }
  });
});
