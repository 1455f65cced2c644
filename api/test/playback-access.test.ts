import { Readable } from 'node:stream';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { AccessStateCache } from '../playback/access-cache.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { call, codeOf } from './http.ts';
import { seedVideo } from '../../test/helpers/seed.ts';

interface Pb {
  url: string;
  posterUrl: string | null;
  storyboardUrl: string | null;
  expiresAt: string;
  scope: string;
  audience: string;
}

/** Every kind of file a player fetches: master, variant, init, segment, poster, storyboard VTT. */
const FILES = ['master.m3u8', 'v0/index.m3u8', 'v0/init.mp4', 'v0/seg_000.m4s', 'poster.jpg', 'storyboard.vtt'];
const CACHE_MS = 2000;
const sigOf = (pb: Pb): string => new URL(pb.url, 'http://x').searchParams.get('sig')!;

describe('moderation-bound playback access', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let storage: LocalDiskStorage;
  let alice: string;
  let bob: string;
  let mod: string;
  // The server's clock for signatures and the access cache; tests move it instead of waiting.
  let offset = 0;

  /** A ready video owned by alice, with a storyboard VTT next to the seeded package. */
  async function seed(o: { approved?: boolean } = {}): Promise<string> {
    const id = await seedVideo(sql, storage, { uploaderId: 'alice' });
    await storage.put(
      `hls/${id}/storyboard.vtt`,
      Readable.from([Buffer.from('WEBVTT\n\n00:00.000 --> 00:02.000\nposter.jpg#xywh=0,0,16,9\n')]),
    );
    await new VideoRepository(sql).setArtwork(id, {
      posterKey: `hls/${id}/poster.jpg`,
      storyboardKey: `hls/${id}/storyboard.vtt`,
      posters: [],
    });
    if (o.approved) await decide(id, 'approve');
    return id;
  }
  async function decide(id: string, d: 'approve' | 'reject'): Promise<void> {
    const r = await call(t.url, 'POST', `/api/moderation/videos/${id}/${d}`, {
      token: mod,
      body: d === 'reject' ? { notes: 'not for kids' } : {},
    });
    expect(r.status).toBe(200);
  }
  async function playback(id: string, token?: string): Promise<Pb> {
    const r = await call<Pb>(t.url, 'GET', `/api/playback/${id}`, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  }
  /** Status and code of each file fetched with the signature, without any credentials (a shared link). */
  async function fetchAll(id: string, sig: string, files: readonly string[] = FILES): Promise<Array<[string, number, string | undefined]>> {
    const out: Array<[string, number, string | undefined]> = [];
    for (const f of files) {
      const r = await call(t.url, 'GET', `/hls/${id}/${f}?sig=${encodeURIComponent(sig)}`);
      out.push([f, r.status, codeOf(r)]);
    }
    return out;
  }
  const all = (files: readonly string[], status: number, code?: string) => files.map((f) => [f, status, code]);

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], now: () => Date.now() + offset, env: { PLAYBACK_ACCESS_CACHE_MS: String(CACHE_MS) } });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    storage = new LocalDiskStorage({ root: t.config.publishDir });
    [alice, bob, mod] = await Promise.all([tokenFor('alice', 'uploader'), tokenFor('bob', 'uploader'), tokenFor('mod-1', 'moderator')]);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('an owner preview link of a rejected video plays for nobody, while moderators still preview it', async () => {
    const v = await seed();
    const owner = await playback(v, alice);
    expect([owner.scope, owner.audience]).toEqual(['preview', 'owner']);
    expect(await fetchAll(v, sigOf(owner))).toEqual(all(FILES, 200));
    await decide(v, 'reject');
    expect(await fetchAll(v, sigOf(owner))).toEqual(all(FILES, 403, 'PLAYBACK_REJECTED'));
    // Renewing is refused too, to the owner with the reason and to anyone else without it.
    const again = await call(t.url, 'GET', `/api/playback/${v}`, { token: alice });
    expect([again.status, codeOf(again)]).toEqual([403, 'PLAYBACK_REJECTED']);
    const anon = await call(t.url, 'GET', `/api/playback/${v}`);
    expect([anon.status, codeOf(anon)]).toEqual([403, 'PLAYBACK_NOT_APPROVED']);
    expect((await call<{ playback: Pb | null }>(t.url, 'GET', `/api/videos/${v}`, { token: alice })).body.playback).toBeNull();
    const moderator = await playback(v, mod);
    expect([moderator.scope, moderator.audience]).toEqual(['preview', 'moderator']);
    expect(await fetchAll(v, sigOf(moderator))).toEqual(all(FILES, 200));
  });

  it('binds previews to the caller: owner and moderator signatures differ and name no user id', async () => {
    const v = await seed();
    const [o, m] = [sigOf(await playback(v, alice)), sigOf(await playback(v, mod))];
    expect(o.split('.')[1]).toBe('o');
    expect(m.split('.')[1]).toBe('m');
    expect(o.split('.')[3]).not.toBe(m.split('.')[3]);
    expect(`${o}${m}`).not.toMatch(/alice|mod-1/);
    const stranger = await call(t.url, 'GET', `/api/playback/${v}`, { token: bob });
    expect([stranger.status, codeOf(stranger)]).toEqual([403, 'PLAYBACK_NOT_APPROVED']);
  });

  it('approve → reject → approve: an old public link stays dead for segments and posters too', async () => {
    const v = await seed({ approved: true });
    const old = await playback(v);
    expect(old.audience).toBe('public');
    expect(await fetchAll(v, sigOf(old))).toEqual(all(FILES, 200));
    await decide(v, 'reject');
    expect(await fetchAll(v, sigOf(old))).toEqual(all(FILES, 403, 'PLAYBACK_NOT_APPROVED'));
    await decide(v, 'approve');
    expect(await fetchAll(v, sigOf(old))).toEqual(all(FILES, 403, 'PLAYBACK_REVOKED'));
    expect(await fetchAll(v, sigOf(await playback(v)))).toEqual(all(FILES, 200));
  });

  it('a revocation committed by another process stops every file once PLAYBACK_ACCESS_CACHE_MS has passed', async () => {
    const v = await seed({ approved: true });
    const pub = sigOf(await playback(v));
    const preview = sigOf(await playback(v, mod)); // approved: staff get the public link too
    expect(await fetchAll(v, pub)).toEqual(all(FILES, 200));
    // What another API process (reject) does to the row; this process only learns it from Postgres.
    await sql`UPDATE videos SET moderation_status = 'rejected' WHERE id = ${v}`;
    offset += CACHE_MS;
    expect(await fetchAll(v, pub)).toEqual(all(FILES, 403, 'PLAYBACK_NOT_APPROVED'));
    expect(await fetchAll(v, preview)).toEqual(all(FILES, 403, 'PLAYBACK_NOT_APPROVED'));
  });

  it('re-processing and cancelling (worker-side status changes) revoke previews and public links alike', async () => {
    const v = await seed({ approved: true });
    await new VideoRepository(sql).markPreviewable(v, { hlsPrefix: `hls/${v}`, masterKey: `hls/${v}/master.m3u8` });
    const pub = sigOf(await playback(v));
    await decide(v, 'reject');
    const modPreview = sigOf(await playback(v, mod));
    await decide(v, 'approve');
    expect(await fetchAll(v, sigOf(await playback(v)))).toEqual(all(FILES, 200));
    const pub2 = sigOf(await playback(v));
    // The worker re-processes the video (ready → processing → ready) without going through this API process.
    await sql`UPDATE videos SET status = 'processing' WHERE id = ${v}`;
    offset += CACHE_MS;
    expect(await fetchAll(v, pub2, ['v0/seg_000.m4s', 'poster.jpg'])).toEqual(
      all(['v0/seg_000.m4s', 'poster.jpg'], 403, 'PLAYBACK_NOT_APPROVED'),
    );
    await sql`UPDATE videos SET status = 'ready' WHERE id = ${v}`;
    offset += CACHE_MS;
    for (const old of [pub, pub2]) expect(await fetchAll(v, old)).toEqual(all(FILES, 403, 'PLAYBACK_REVOKED'));
    expect(await fetchAll(v, modPreview)).toEqual(all(FILES, 403, 'PLAYBACK_REVOKED'));
    const fresh = sigOf(await playback(v));
    expect(await fetchAll(v, fresh)).toEqual(all(FILES, 200));
    // A cancelled job ends `failed`: nothing of it plays any more, not even for its owner or moderators.
    const u = await seed();
    const [ownerNow, modNow] = [sigOf(await playback(u, alice)), sigOf(await playback(u, mod))];
    await sql`UPDATE videos SET status = 'failed' WHERE id = ${u}`;
    offset += CACHE_MS;
    for (const s of [ownerNow, modNow])
      expect(await fetchAll(u, s, ['v0/seg_000.m4s'])).toEqual(all(['v0/seg_000.m4s'], 404, 'API_NOT_FOUND'));
  });

  it('a deletion stops segments at once on this process, and a row deleted elsewhere within the bound', async () => {
    const v = await seed({ approved: true });
    const pub = sigOf(await playback(v));
    expect((await call(t.url, 'DELETE', `/api/videos/${v}`, { token: alice })).status).toBe(200);
    expect(await fetchAll(v, pub)).toEqual(all(FILES, 404, 'API_NOT_FOUND'));

    const w = await seed({ approved: true });
    const wSig = sigOf(await playback(w));
    expect(await fetchAll(w, wSig, ['v0/seg_000.m4s'])).toEqual(all(['v0/seg_000.m4s'], 200));
    await sql`DELETE FROM videos WHERE id = ${w}`; // its files are still on disk: the row alone decides
    await waitFor(
      async () => {
        const r = await call(t.url, 'GET', `/hls/${w}/v0/seg_000.m4s?sig=${encodeURIComponent(wSig)}`);
        return r.status === 404 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'segment of a deleted row refused' },
    );
  });

  it('expires previews after PLAYBACK_PREVIEW_TTL_SEC (600 s) while public links last PLAYBACK_URL_TTL_SEC', async () => {
    const pending = await seed();
    const approved = await seed({ approved: true });
    const owner = await playback(pending, alice);
    const moderator = await playback(pending, mod);
    const pub = await playback(approved);
    const left = (pb: Pb): number => (Date.parse(pb.expiresAt) - (Date.now() + offset)) / 1000;
    for (const pb of [owner, moderator]) expect(left(pb)).toBeGreaterThan(590);
    for (const pb of [owner, moderator]) expect(left(pb)).toBeLessThanOrEqual(600);
    expect(left(pub)).toBeGreaterThan(4 * 3600 - 10);
    offset += 601_000;
    for (const pb of [owner, moderator]) {
      expect(await fetchAll(pending, sigOf(pb), ['v0/seg_000.m4s'])).toEqual(all(['v0/seg_000.m4s'], 403, 'PLAYBACK_SIGNATURE_EXPIRED'));
    }
    expect(await fetchAll(approved, sigOf(pub), ['v0/seg_000.m4s'])).toEqual(all(['v0/seg_000.m4s'], 200));
  });

  it('keeps media out of shared caches, so a proxy cannot serve a file after its link was revoked', async () => {
    const v = await seed();
    const sig = sigOf(await playback(v, alice));
    const seg = await fetch(`${t.url}/hls/${v}/v0/seg_000.m4s?sig=${encodeURIComponent(sig)}`);
    const cc = seg.headers.get('cache-control') ?? '';
    expect(cc).toMatch(/^private, max-age=\d+, immutable$/);
    expect(Number(/max-age=(\d+)/.exec(cc)![1])).toBeLessThanOrEqual(600);
  });
});

describe('access state cache', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let id: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    id = await seedVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'alice' });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  /** A cache over the real accessState query that counts its Postgres reads, on a clock the test moves. */
  function counted(o: { ttlMs?: number; maxEntries?: number } = {}) {
    const repo = new VideoRepository(sql);
    const c = { loads: 0, now: 1_000_000, fail: false };
    const cache = new AccessStateCache({
      ...o,
      reloadFloorMs: 100,
      now: () => c.now,
      load: async (vid) => {
        c.loads++;
        if (c.fail) throw new Error('postgres down');
        return repo.accessState(vid);
      },
    });
    return { cache, c };
  }

  it('shares one read between concurrent requests and reuses it for the TTL only', async () => {
    const { cache, c } = counted({ ttlMs: 2000 });
    const states = await Promise.all(Array.from({ length: 20 }, () => cache.get(id)));
    expect(c.loads).toBe(1);
    expect(states[0]).toMatchObject({ status: 'ready', moderation_status: 'pending', uploader_id: 'alice', access_epoch: 0 });
    c.now += 1999;
    await cache.get(id);
    expect(c.loads).toBe(1);
    c.now += 1;
    await cache.get(id);
    expect(c.loads).toBe(2);
    cache.invalidate(id);
    await cache.get(id);
    expect(c.loads).toBe(3);
  });

  it('reloads early for a newer epoch or before a refusal, at most once per reload floor', async () => {
    const { cache, c } = counted({ ttlMs: 2000 });
    await cache.get(id);
    await cache.get(id, { minEpoch: 1 });
    await cache.get(id, { fresh: true });
    expect(c.loads).toBe(1); // within the floor: the cached state answers
    c.now += 100;
    await cache.get(id, { minEpoch: 0 });
    expect(c.loads).toBe(1); // not stale for this epoch
    await cache.get(id, { minEpoch: 1 });
    expect(c.loads).toBe(2);
    c.now += 100;
    await cache.get(id, { fresh: true });
    expect(c.loads).toBe(3);
  });

  it('caches deleted videos, drops the oldest entry past maxEntries, and never caches a failed read', async () => {
    const { cache, c } = counted({ ttlMs: 2000, maxEntries: 2 });
    const gone = '00000000-0000-4000-8000-000000000000';
    expect(await cache.get(gone)).toBeUndefined();
    expect(await cache.get(gone)).toBeUndefined();
    expect(c.loads).toBe(1);
    await cache.get(id);
    await cache.get('00000000-0000-4000-8000-000000000001');
    await cache.get(gone); // evicted as the oldest
    expect(c.loads).toBe(4);
    const { cache: flaky, c: f } = counted();
    f.fail = true;
    await expect(flaky.get(id)).rejects.toThrow('postgres down');
    f.fail = false;
    expect(await flaky.get(id)).toBeDefined();
    expect(f.loads).toBe(2);
  });
});
