import { createSecretKey } from 'node:crypto';
import { SignJWT } from 'jose';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TEST_JWT_SECRET, tokenFor } from '../../test/helpers/auth.ts';
import { call, codeOf } from './http.ts';
import { seedVideo } from '../../test/helpers/seed.ts';

interface Page {
  items: Array<{ id: string; uploaderId: string | null }>;
  nextCursor: string | null;
}

describe('API role boundaries', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let alice: string;
  let bob: string;
  let mod: string;
  let admin: string;
  const aliceVideos: string[] = [];
  let bobVideo: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    for (let i = 0; i < 3; i++) aliceVideos.push(await seedVideo(sql, storage, { uploaderId: 'alice', title: `a${i}` }));
    bobVideo = await seedVideo(sql, storage, { uploaderId: 'bob', status: 'processing' });
    [alice, bob, mod, admin] = await Promise.all([
      tokenFor('alice', 'user'),
      tokenFor('bob', 'uploader'),
      tokenFor('mod', 'moderator'),
      tokenFor('root', 'admin'),
    ]);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('answers 401 AUTH_MISSING_TOKEN without a token and AUTH_INVALID_TOKEN for bad ones', async () => {
    expect(codeOf(await call(t.url, 'GET', '/api/videos'))).toBe('AUTH_MISSING_TOKEN');
    expect((await call(t.url, 'GET', '/api/moderation/queue')).status).toBe(401);
    const wrongKey = await tokenFor('alice', 'uploader', { secret: 'another-secret-another-secret-123456' });
    const expired = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('root')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(createSecretKey(Buffer.from(TEST_JWT_SECRET)));
    const noRole = await new SignJWT({ role: 'superuser' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(createSecretKey(Buffer.from(TEST_JWT_SECRET)));
    for (const token of [wrongKey, expired, noRole, 'not.a.jwt']) {
      const r = await call(t.url, 'GET', '/api/videos', { token });
      expect(r.status).toBe(401);
      expect(codeOf(r)).toBe('AUTH_INVALID_TOKEN');
    }
    // Pages opened from a link carry the token in the query; the header wins when both come.
    const viaQuery = await call<Page>(t.url, 'GET', `/api/videos?limit=5&access_token=${encodeURIComponent(alice)}`);
    expect(viaQuery.status).toBe(200);
    expect(viaQuery.body.items).toHaveLength(3);
    const basic = await call(t.url, 'GET', '/api/videos', { headers: { authorization: 'Basic abc' } });
    expect(codeOf(basic)).toBe('AUTH_INVALID_TOKEN');
  });

  it('answers 403 AUTH_FORBIDDEN when an uploader calls moderator routes', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/moderation/queue', undefined],
      ['POST', `/api/moderation/videos/${aliceVideos[0]}/approve`, {}],
      ['POST', `/api/moderation/videos/${aliceVideos[0]}/reject`, { notes: 'no' }],
      ['GET', `/api/moderation/videos/${aliceVideos[0]}/audit`, undefined],
    ] as const) {
      const r = await call(t.url, method, path, { token: alice, body });
      expect([path, r.status, codeOf(r)]).toEqual([path, 403, 'AUTH_FORBIDDEN']);
    }
  });

  it('shows uploaders only their own videos; staff see all', async () => {
    const mine = await call<Page>(t.url, 'GET', '/api/videos?uploader=bob', { token: alice });
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((v) => v.id).sort()).toEqual([...aliceVideos].sort());
    const other = await call(t.url, 'GET', `/api/videos/${bobVideo}`, { token: alice });
    expect(codeOf(other)).toBe('API_NOT_FOUND');
    const own = await call<{ status: string; progress: number; stage: string }>(t.url, 'GET', `/api/videos/${bobVideo}`, { token: bob });
    expect(own.body).toMatchObject({ status: 'processing', stage: 'transcode', progress: 42 });
    const all = await call<Page>(t.url, 'GET', '/api/videos', { token: mod });
    expect(all.body.items).toHaveLength(4);
    const filtered = await call<Page>(t.url, 'GET', '/api/videos?uploader=bob&status=processing', { token: admin });
    expect(filtered.body.items.map((v) => v.id)).toEqual([bobVideo]);
  });

  it('paginates with an opaque keyset cursor and rejects a forged one', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page: { body: Page } = await call<Page>(t.url, 'GET', `/api/videos?limit=2${q}`, { token: mod });
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((v) => v.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
    expect(codeOf(await call(t.url, 'GET', '/api/videos?cursor=Zm9vfGJhcg', { token: mod }))).toBe('API_BAD_REQUEST');
    expect(codeOf(await call(t.url, 'GET', '/api/videos?limit=1000', { token: mod }))).toBe('API_BAD_REQUEST');
  });

  it('lets owners (and admins) edit title/description, validates input, and audits the edit', async () => {
    const id = aliceVideos[0]!;
    const r = await call<{ title: string; description: string }>(t.url, 'PATCH', `/api/videos/${id}`, {
      token: alice,
      body: { title: 'Beach day', description: 'Sand' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ title: 'Beach day', description: 'Sand' });
    expect(codeOf(await call(t.url, 'PATCH', `/api/videos/${id}`, { token: bob, body: { title: 'mine now' } }))).toBe('API_NOT_FOUND');
    expect(codeOf(await call(t.url, 'PATCH', `/api/videos/${id}`, { token: alice, body: {} }))).toBe('API_BAD_REQUEST');
    expect(codeOf(await call(t.url, 'PATCH', `/api/videos/${id}`, { token: alice, body: { title: 'x'.repeat(201) } }))).toBe(
      'API_BAD_REQUEST',
    );
    expect(codeOf(await call(t.url, 'GET', '/api/videos/not-a-uuid', { token: alice }))).toBe('API_BAD_REQUEST');
    const audit = await call<{ items: Array<{ action: string; actor: string }> }>(t.url, 'GET', `/api/moderation/videos/${id}/audit`, {
      token: mod,
    });
    expect(audit.body.items.map((a) => [a.action, a.actor])).toEqual([['edited', 'alice']]);
  });

  it('answers 403 when a moderator tries to delete (owners and admins delete)', async () => {
    const r = await call(t.url, 'DELETE', `/api/videos/${aliceVideos[2]}`, { token: mod });
    expect([r.status, codeOf(r)]).toEqual([403, 'AUTH_FORBIDDEN']);
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const r = await call<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { securitySchemes: Record<string, unknown> };
    }>(t.url, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/videos',
      '/api/videos/{id}',
      '/api/moderation/queue',
      '/api/moderation/videos/{id}/approve',
      '/api/videos/{id}/retry',
      '/api/playback/{id}',
      '/readyz',
    ]) {
      expect(Object.keys(r.body.paths)).toContain(p);
    }
    expect(Object.keys(r.body.paths['/api/videos/{id}']!)).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
    expect(r.body.components.securitySchemes).toHaveProperty('bearer');
    // tus and the HTML pages are not JSON API routes.
    expect(Object.keys(r.body.paths).filter((p) => p.startsWith('/uploads') || p.startsWith('/vendor') || p === '/')).toEqual([]);
  });
});
