import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TEST_PLAYBACK_KEY, tokenFor } from '../../test/helpers/auth.ts';
import { seedVideo } from '../../test/helpers/seed.ts';
import { createLogger } from '../../ops/logger.ts';
import { expireAnalyticsEvents } from '../../ops/retention.ts';
import { AnalyticsSessions } from '../analytics/session-token.ts';
import { call, codeOf } from './http.ts';

type Summary = {
  sessions: number;
  views: number;
  watchTimeSec: number;
  completionRate: number | null;
  retention: number[];
  startup: { p50Ms: number | null; p95Ms: number | null; samples: number };
  rebufferRatio: number | null;
  averageBitrate: number | null;
  rungs: Record<string, number>;
  errorRate: number | null;
};

/** A whole 3 s viewing: start after 400 ms, 2 s at 360p, a 0.5 s stall, the last second at 720p, the end. */
const WATCHED = [
  { type: 'start', seq: 0, at: 400, startupMs: 400, duration: 3 },
  { type: 'heartbeat', seq: 1, at: 2400, from: 0, to: 2, bitrate: 500_000, height: 360 },
  { type: 'stall', seq: 2, at: 2900, durationMs: 500, pos: 2 },
  { type: 'quality', seq: 3, at: 2900, level: 1, bitrate: 1_500_000, height: 720 },
  { type: 'heartbeat', seq: 4, at: 3900, from: 2, to: 3, bitrate: 1_500_000, height: 720 },
  { type: 'end', seq: 5, at: 3900, pos: 3 },
];

describe('analytics beacons and roll-ups', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let mine: string;
  let other: string;
  let owner: string;
  let stranger: string;
  let admin: string;

  beforeAll(async () => {
    // The per-IP beacon budget sits above what the other tests send (about 30), so the last test can reach it.
    t = await startTestApp({
      roles: ['api'],
      env: { ANALYTICS_SESSION_RATE_MAX: '5', ANALYTICS_VIEW_SECONDS: '2', ANALYTICS_IP_RATE_MAX: '60' },
    });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    mine = await seedVideo(sql, storage, { uploaderId: 'parent-a' });
    other = await seedVideo(sql, storage, { uploaderId: 'parent-b' });
    const mod = await tokenFor('m', 'moderator');
    for (const id of [mine, other]) await call(t.url, 'POST', `/api/moderation/videos/${id}/approve`, { token: mod, body: {} });
    owner = await tokenFor('parent-a', 'uploader');
    stranger = await tokenFor('parent-b', 'uploader');
    admin = await tokenFor('root', 'admin');
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const session = async (id: string): Promise<string> => {
    const p = await call<{ analyticsSession: string | null }>(t.url, 'GET', `/api/playback/${id}`);
    expect(p.body.analyticsSession).toMatch(/^\d+\.[\w-]{22}\.[\w-]{22}$/);
    return p.body.analyticsSession!;
  };
  const beacon = (body: unknown, headers?: Record<string, string>) => call(t.url, 'POST', '/api/analytics/beacons', { body, headers });
  const stats = async (id: string, token = owner) =>
    call<{ total: Summary; days: Array<Summary & { day: string }> }>(t.url, 'GET', `/api/analytics/videos/${id}`, { token });

  it('rolls a watched session up into views, watch time, completion, retention, startup, rebuffering, bitrate and rungs', async () => {
    const s = await session(mine);
    expect((await beacon({ videoId: mine, session: s, events: WATCHED.slice(0, 3) })).status).toBe(204);
    // A retried beacon (same sequence numbers) counts once.
    expect((await beacon({ videoId: mine, session: s, events: WATCHED.slice(0, 3) })).status).toBe(204);
    expect((await beacon({ videoId: mine, session: s, events: WATCHED.slice(3) })).status).toBe(204);
    // A second session that only starts (0.2 s watched) and fails: a session, no view, an error.
    const s2 = await session(mine);
    const failed = [
      { type: 'start', seq: 0, at: 900, startupMs: 900, duration: 3 },
      { type: 'heartbeat', seq: 1, at: 1100, from: 0, to: 0.2, bitrate: 500_000, height: 360 },
      { type: 'error', seq: 2, at: 1200, code: 'fragLoadError', fatal: true },
    ];
    expect((await beacon({ videoId: mine, session: s2, events: failed })).status).toBe(204);

    const r = await stats(mine);
    expect(r.status).toBe(200);
    const total = r.body.total;
    expect(total).toMatchObject({ sessions: 2, views: 1, completionRate: 1, errorRate: 0.5 });
    expect(total.watchTimeSec).toBeCloseTo(3.2, 5);
    expect(total.startup).toMatchObject({ samples: 2, p50Ms: 400, p95Ms: 900 });
    expect(total.rebufferRatio).toBeCloseTo(0.5 / 3.7, 3);
    expect(total.averageBitrate).toBe(Math.round((500_000 * 2.2 + 1_500_000 * 1) / 3.2));
    expect(total.rungs['360p']).toBeCloseTo(2.2 / 3.2, 3);
    expect(total.retention).toHaveLength(20);
    expect(total.retention[0]).toBe(1); // both watched the first 5 % (0.15 s)
    expect(total.retention[19]).toBe(0.5);
    expect(r.body.days).toHaveLength(1);
    // More beacons later: the next read counts them (roll-up on read, no timer).
    const s3 = await session(mine);
    await beacon({ videoId: mine, session: s3, events: [{ type: 'heartbeat', seq: 0, at: 1, from: 0, to: 2.5, bitrate: 1, height: 360 }] });
    expect((await stats(mine)).body.total).toMatchObject({ sessions: 3, views: 2 });
  });

  it('refuses forged, foreign, tampered and expired sessions with stable codes', async () => {
    const events = [{ type: 'start', seq: 0, at: 1, startupMs: 1, duration: 3 }];
    const s = await session(mine);
    const [iat, nonce, mac] = s.split('.') as [string, string, string];
    const code = async (videoId: string, sess: string) => {
      const r = await beacon({ videoId, session: sess, events });
      return [r.status, codeOf(r)];
    };
    expect(await code(other, s)).toEqual([403, 'ANALYTICS_SESSION_INVALID']); // issued for another video
    expect(await code(mine, `${Number(iat) + 1}.${nonce}.${mac}`)).toEqual([403, 'ANALYTICS_SESSION_INVALID']);
    expect(await code(mine, `${iat}.${nonce.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}.${mac}`)).toEqual([
      403,
      'ANALYTICS_SESSION_INVALID',
    ]);
    expect(await code(mine, 'garbage')).toEqual([403, 'ANALYTICS_SESSION_INVALID']);
    const foreignKey = new AnalyticsSessions({ key: 'k'.repeat(40), ttlSec: 3600 });
    expect(await code(mine, foreignKey.issue(mine))).toEqual([403, 'ANALYTICS_SESSION_INVALID']);
    const old = new AnalyticsSessions({ key: TEST_PLAYBACK_KEY, ttlSec: 3600, now: () => Date.now() - 7 * 3600_000 });
    expect(await code(mine, old.issue(mine))).toEqual([403, 'ANALYTICS_SESSION_EXPIRED']);
    // Previews (owner, moderator) carry none: they are not viewers.
    const pending = await seedVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'parent-a' });
    const preview = await call<{ analyticsSession: string | null }>(t.url, 'GET', `/api/playback/${pending}`, { token: owner });
    expect(preview.status).toBe(200);
    expect(preview.body.analyticsSession).toBeNull();
  });

  it('caps batch and body size, validates every field, and rate-limits per session', async () => {
    const s = await session(mine);
    const many = Array.from({ length: 51 }, (_, i) => ({ type: 'seek', seq: i, at: i, from: 0, to: 1 }));
    const big = await beacon({ videoId: mine, session: s, events: many });
    expect([big.status, codeOf(big)]).toEqual([413, 'ANALYTICS_BATCH_TOO_LARGE']);
    const huge = await beacon({ videoId: mine, session: s, events: [{ type: 'end', seq: 0, at: 0, pos: 1 }], pad: 'x'.repeat(20_000) });
    expect([huge.status, codeOf(huge)]).toEqual([413, 'ANALYTICS_BATCH_TOO_LARGE']);
    for (const bad of [
      { type: 'heartbeat', seq: 0, at: 0, from: -1, to: 1, bitrate: 1, height: 1 },
      { type: 'heartbeat', seq: 0, at: 0, from: 0, to: 1e12, bitrate: 1, height: 1 },
      { type: 'error', seq: 0, at: 0, code: '<script>alert(1)</script>', fatal: true },
      { type: 'start', seq: 0.5, at: 0, startupMs: 1, duration: 1 },
      { type: 'start', seq: 0, at: 0, startupMs: 'NaN', duration: 1 },
      { type: 'drop table', seq: 0, at: 0 },
    ]) {
      const r = await beacon({ videoId: mine, session: s, events: [bad] });
      expect([JSON.stringify(bad), r.status, codeOf(r)]).toEqual([JSON.stringify(bad), 400, 'API_BAD_REQUEST']);
    }
    expect(codeOf(await beacon({ videoId: 'not-a-uuid', session: s, events: [] }))).toBe('API_BAD_REQUEST');
    // The budget (5 per window in this app) counts accepted beacons of this session only.
    for (let i = 0; i < 5; i++)
      expect((await beacon({ videoId: mine, session: s, events: [{ type: 'end', seq: i, at: i, pos: 0 }] })).status).toBe(204);
    const limited = await beacon({ videoId: mine, session: s, events: [{ type: 'end', seq: 9, at: 9, pos: 0 }] });
    expect([limited.status, codeOf(limited)]).toEqual([429, 'ANALYTICS_RATE_LIMITED']);
    const fresh = await session(mine);
    expect((await beacon({ videoId: mine, session: fresh, events: [{ type: 'end', seq: 0, at: 0, pos: 0 }] })).status).toBe(204);
  });

  it('shows a video only to its uploader and staff, lists the uploader’s own, and gives staff the totals', async () => {
    expect(codeOf(await stats(mine, stranger))).toBe('API_NOT_FOUND'); // not revealed to other parents
    expect(codeOf(await call(t.url, 'GET', `/api/analytics/videos/${mine}`))).toBe('AUTH_MISSING_TOKEN');
    expect((await stats(mine, admin)).status).toBe(200);
    const s = await session(other);
    await beacon({ videoId: other, session: s, events: [{ type: 'heartbeat', seq: 0, at: 1, from: 0, to: 3, bitrate: 1, height: 360 }] });

    const my = await call<{ items: Array<{ videoId: string; views: number; watchTimeSec: number }> }>(
      t.url,
      'GET',
      '/api/analytics/my-videos',
      {
        token: owner,
      },
    );
    expect(my.status).toBe(200);
    expect(my.body.items.map((i) => i.videoId)).toEqual([mine]);
    expect(my.body.items[0]!.views).toBeGreaterThanOrEqual(2);

    const denied = await call(t.url, 'GET', '/api/analytics/totals', { token: owner });
    expect([denied.status, codeOf(denied)]).toEqual([403, 'AUTH_FORBIDDEN']);
    const totals = await call<{ videos: number; total: Summary; days: unknown[] }>(t.url, 'GET', '/api/analytics/totals?days=7', {
      token: admin,
    });
    expect(totals.status).toBe(200);
    expect(totals.body.videos).toBe(2);
    expect(totals.body.total.views).toBe(my.body.items[0]!.views + 1);
    expect(totals.body.days).toHaveLength(1);
    expect(codeOf(await call(t.url, 'GET', '/api/analytics/totals?days=1000', { token: admin }))).toBe('API_BAD_REQUEST');
  });

  it('stores no address, agent or token: only the pseudonymous session hash', async () => {
    const cols = await sql<Array<{ column_name: string }>>`SELECT column_name FROM information_schema.columns
      WHERE table_name = 'analytics_events' ORDER BY ordinal_position`;
    expect(cols.map((c) => c.column_name)).toEqual(['video_id', 'day', 'session', 'seq', 'kind', 'at_ms', 'data', 'received_at']);
    const s = await session(mine);
    const [row] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM analytics_events
      WHERE session = ${Buffer.from(s.split('.')[1]!, 'base64url')} OR data::text LIKE ${`%${s.split('.')[2]!}%`}`;
    expect(row!.n).toBe(0);
  });

  it('expiry (npm run retention) rolls up what is left of old days, then deletes their raw events only', async () => {
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10);
    await sql`INSERT INTO analytics_events (video_id, day, session, seq, kind, at_ms, data) VALUES
      (${mine}, ${old}, ${Buffer.alloc(16, 1)}, 0, 'heartbeat', 5, ${sql.json({ from: 0, to: 3, bitrate: 1, height: 360 })})`;
    const before = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM analytics_events WHERE day >= CURRENT_DATE - 1`;
    const r = await expireAnalyticsEvents(sql, t.config, createLogger({ level: 'silent' }));
    expect(r.deleted).toBe(1);
    const [kept] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM analytics_events`;
    expect(kept!.n).toBe(before[0]!.n);
    const [rolled] = await sql<Array<{ views: number; watch_sec: number }>>`SELECT views, watch_sec FROM video_analytics
      WHERE video_id = ${mine} AND day = ${old}`;
    expect(rolled).toEqual({ views: 1, watch_sec: 3 });
    // A beacon of a session from a day that is gone would roll that day up from its own events alone: refused.
    const stale = new AnalyticsSessions({ key: TEST_PLAYBACK_KEY, ttlSec: 30 * 86_400, now: () => Date.now() - 10 * 86_400_000 });
    const late = await beacon({ videoId: mine, session: stale.issue(mine), events: [{ type: 'end', seq: 1, at: 1, pos: 3 }] });
    expect([late.status, codeOf(late)]).toEqual([403, 'ANALYTICS_SESSION_EXPIRED']);
  });

  it('limits beacons per client IP too, whatever sessions it holds (runs last: it spends the budget)', async () => {
    const codes = new Set<string | undefined>();
    for (let i = 0; i < 70 && !codes.has('API_RATE_LIMITED'); i++) {
      const r = await beacon({ videoId: mine, session: await session(mine), events: [{ type: 'end', seq: 0, at: 0, pos: 0 }] });
      codes.add(r.status === 204 ? 'stored' : codeOf(r));
    }
    expect([...codes]).toEqual(['stored', 'API_RATE_LIMITED']);
  });
});
