import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../api/test/http.ts';
import { startS3rver, type RunningS3rver } from '../bench/s3rver-server.ts';
import { createDb, type Sql } from '../db/client.ts';
import { PersonalDataStore } from '../db/personal-data-store.ts';
import { S3Storage } from '../storage/s3.ts';
import { startTestApp, waitFor, type TestApp } from './helpers/app.ts';
import { tokenFor } from './helpers/auth.ts';
import { makeClip } from './helpers/media.ts';
import { filesMentioning, objectsMentioning, redisMentioning, rowsMentioning } from './helpers/personal-data-scan.ts';
import { startStreamStub, type StreamStub } from './helpers/stream-stub.ts';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.ts';
import { runUntil } from './helpers/tus-helpers.ts';
import { fetchUploadToken, tusUpload } from './helpers/tus-upload.ts';

const PUBLISH = 'kidstream-gdpr';
const ARCHIVE = 'kidstream-gdpr-archive';
const tag = randomBytes(4).toString('hex');
const ALICE = `alice-${tag}`;
const BOB = `bob-${tag}`;
const MOD = `mod-${tag}`;
const HOOK_SECRET = 'gdpr-test-webhook-secret-0123456789';

interface ExportDoc {
  format: string;
  userId: string;
  videoIds: string[];
  tables: Record<string, Array<Record<string, unknown>>>;
  objects: Array<{ store: string; key: string }>;
}

/**
 * Export and erasure against the whole pipeline with every store in play: HLS, uploads and masters in an S3 bucket
 * (s3rver), the archive in another, the Stream copy in the stub, the data volume. The checks do not trust the registry
 * (db/personal-data.ts): they scan every column of every table and every object and file for the ids.
 */
describe('personal data: export and erasure', () => {
  let t: TestApp;
  let s3: RunningS3rver;
  let stub: StreamStub;
  let hooks: WebhookReceiver;
  let sql: Sql;
  let publish: S3Storage;
  let archive: S3Storage;
  let tmp: string;
  const tokens: Record<string, string> = {};
  let a1 = '';
  let a2 = '';
  let openVideoId = '';
  let b1 = '';

  const sqlOf = async <T>(f: (s: Sql) => Promise<T>): Promise<T> => f(sql);
  const row = async (id: string): Promise<Record<string, unknown> | undefined> =>
    sqlOf(async (s) => (await s`SELECT status, stage, archived_at, stream_uid FROM videos WHERE id = ${id}`)[0]);
  const upload = async (file: string, who: string, title: string): Promise<string> =>
    (await tusUpload(`${t.url}/uploads`, file, { filename: `${title}.mp4`, title }, { uploaderId: who })).videoId;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-gdpr-'));
    [s3, stub, hooks] = await Promise.all([startS3rver([PUBLISH, ARCHIVE]), startStreamStub(), startWebhookReceiver(HOOK_SECRET)]);
    const bucket = (b: string) => ({ endpoint: s3.endpoint, bucket: b, accessKey: s3.accessKey, secretKey: s3.secretKey });
    [publish, archive] = await Promise.all([S3Storage.create(bucket(PUBLISH)), S3Storage.create(bucket(ARCHIVE))]);
    t = await startTestApp({
      env: {
        ...{ STORAGE_DRIVER: 's3', S3_ENDPOINT: s3.endpoint, S3_BUCKET: PUBLISH, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey },
        ...{ ARCHIVE_DRIVER: 's3', ARCHIVE_S3_ENDPOINT: s3.endpoint, ARCHIVE_S3_BUCKET: ARCHIVE },
        ...{ ARCHIVE_S3_ACCESS_KEY: s3.accessKey, ARCHIVE_S3_SECRET_KEY: s3.secretKey },
        ...{ STREAM_ENABLED: 'true', STREAM_ACCOUNT_ID: stub.accountId, STREAM_API_TOKEN: stub.token, STREAM_API_BASE: stub.apiBase },
        UPLOAD_TOKEN_SECRET: 'gdpr-test-upload-token-secret-0123456789',
        AUDIT_PSEUDONYM_KEY: 'gdpr-test-pseudonym-key-0123456789abcdef',
        ...{ WEBHOOK_URLS: hooks.url, WEBHOOK_SECRET: HOOK_SECRET, WEBHOOK_BACKOFF_MS: '50' },
      },
    });
    sql = createDb({ url: t.db.url, max: 2 });
    for (const [who, role] of [
      [ALICE, 'uploader'],
      [BOB, 'uploader'],
      [MOD, 'moderator'],
      ['root', 'admin'],
    ] as const) {
      tokens[who] = await tokenFor(who, role, { ttlSec: 3600 });
    }
    const short = await makeClip({ out: path.join(tmp, 'short.mp4'), durationSec: 1, width: 320, height: 180 });
    const long = await makeClip({ out: path.join(tmp, 'long.mp4'), durationSec: 3, width: 640, height: 360 });
    [a1, b1] = await Promise.all([upload(short, ALICE, 'Alice first'), upload(short, BOB, 'Bob only')]);
    await waitFor(
      async () => {
        const [a, b] = [await row(a1), await row(b1)];
        return a?.['stream_uid'] && a['status'] === 'ready' && b?.['archived_at'] && b['status'] === 'ready' ? true : undefined;
      },
      { timeoutMs: 120_000, what: 'both videos ready and archived, Alice’s on Stream' },
    );
    const approve = await call(t.url, 'POST', `/api/moderation/videos/${a1}/approve`, {
      token: tokens[MOD],
      body: { notes: `fine, ${ALICE}` },
    });
    expect(approve.status).toBe(200);
    expect((await call(t.url, 'PATCH', `/api/videos/${a1}`, { token: tokens[ALICE], body: { title: 'Renamed' } })).status).toBe(200);
    // A caption she added and a moderator judged, and how her video was watched (a raw event, rolled up on read).
    const vtt = await fetch(`${t.url}/api/videos/${a1}/captions/en`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tokens[ALICE]}`, 'content-type': 'text/vtt' },
      body: 'WEBVTT\n\n00:00.000 --> 00:00.500\nHello\n',
    });
    expect(vtt.status).toBeLessThan(300);
    const judged = await call(t.url, 'POST', `/api/moderation/videos/${a1}/captions/en/approve`, { token: tokens[MOD], body: {} });
    expect(judged.status).toBe(200);
    await sql`INSERT INTO analytics_events (video_id, day, session, seq, kind, at_ms, data)
      VALUES (${a1}, current_date, ${Buffer.alloc(16, 7)}, 0, 'start', 0, ${sql.json({ startupMs: 120 })})`;
    expect((await call(t.url, 'GET', `/api/analytics/videos/${a1}`, { token: tokens[ALICE] })).status).toBe(200);
    expect((await sql`SELECT 1 FROM video_analytics WHERE video_id = ${a1}`).length).toBe(1);
    // An upload left half-way: its files and quota row are the user's too.
    const big = await readFile(long);
    const cut = await runUntil(big, 64 * 1024, {
      endpoint: `${t.url}/uploads`,
      chunkSize: 64 * 1024,
      headers: { 'Upload-Token': await fetchUploadToken(t.url, ALICE) },
      metadata: { filename: 'half.mp4', title: 'Half' },
    });
    openVideoId = (
      await sql<{ video_id: string }[]>`SELECT video_id::text FROM upload_quota_entries
      WHERE upload_id = ${cut.split('/').pop()!}`
    )[0]!.video_id;
    a2 = await upload(long, ALICE, 'Alice second');
  }, 180_000);

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await t?.close();
    await Promise.allSettled([publish?.close(), archive?.close(), s3?.close(), stub?.close(), hooks?.close()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const exportOf = async (path_: string, who: string): Promise<ExportDoc> => {
    const res = await fetch(`${t.url}${path_}`, { headers: { authorization: `Bearer ${tokens[who]}` } });
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/json; charset=utf-8']);
    return (await res.json()) as ExportDoc;
  };

  it('exports every row that names the user or their videos, names no other user and no staff member', async () => {
    const doc = await exportOf('/api/me/export', ALICE);
    expect(doc).toMatchObject({ format: 'kidstream-export/1', userId: ALICE });
    expect(doc.videoIds).toEqual(expect.arrayContaining([a1, a2, openVideoId]));
    // Every row the database holds about Alice (found by scanning all columns of all tables) is in the export.
    const held = await rowsMentioning(sql, [ALICE, a1, a2, openVideoId]);
    for (const [table, n] of held) expect(doc.tables[table]?.length ?? 0, table).toBeGreaterThanOrEqual(n);
    expect(doc.tables['moderation_audit']!.map((r) => r['action'])).toEqual(expect.arrayContaining(['approved', 'edited']));
    expect(doc.objects.map((o) => o.store)).toEqual(expect.arrayContaining(['publish', 'archive']));
    const text = JSON.stringify(doc);
    for (const other of [BOB, b1, MOD]) expect(text).not.toContain(other);
    // Owner-only: Bob's export has nothing of Alice's.
    const bobs = JSON.stringify(await exportOf('/api/me/export', BOB));
    for (const other of [ALICE, a1, a2]) expect(bobs).not.toContain(other);
  });

  it('zips the export with the user’s own masters', async () => {
    const res = await fetch(`${t.url}/api/me/export?masters=true`, { headers: { authorization: `Bearer ${tokens[ALICE]}` } });
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/zip']);
    const zip = path.join(tmp, 'export.zip');
    await writeFile(zip, Buffer.from(await res.arrayBuffer()));
    execFileSync('unzip', ['-tq', zip]);
    const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['export.json', `masters/${a1}.mp4`]));
    expect(names).not.toContain(`masters/${b1}.mp4`);
  });

  it('keeps the admin routes to admins and matches a hostile user id literally', async () => {
    const asUploader = await call(t.url, 'DELETE', `/api/admin/users/${BOB}`, { token: tokens[ALICE] });
    expect([asUploader.status, codeOf(asUploader)]).toEqual([403, 'AUTH_FORBIDDEN']);
    const wild = await exportOf(`/api/admin/users/${encodeURIComponent("%'OR'1'='1")}/export`, 'root');
    expect(Object.values(wild.tables).flat()).toEqual([]);
    const bad = await call(t.url, 'GET', `/api/admin/users/${encodeURIComponent('a b\n')}/export`, { token: tokens['root'] });
    expect([bad.status, codeOf(bad)]).toEqual([400, 'API_BAD_REQUEST']);
    // Exports are expensive: a client gets a few a minute.
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push(await call(t.url, 'GET', `/api/admin/users/${BOB}/export`, { token: tokens['root'] }));
    expect(burst.map(codeOf)).toContain('API_RATE_LIMITED');
  });

  it('erases the user: no row, object, file or Stream copy names them afterwards; the audit keeps its decisions', async () => {
    const ids = [ALICE, a1, a2, openVideoId];
    // The scanners do find them while they are there.
    expect((await objectsMentioning('publish', publish, ids)).length).toBeGreaterThan(0);
    expect((await objectsMentioning('archive', archive, ids)).length).toBeGreaterThan(0);
    expect(JSON.stringify([...stub.videos.keys()])).toContain(String((await row(a1))?.['stream_uid']));
    expect((await redisMentioning(t.config.redisUrl, t.config.queuePrefix, ids)).hits.length).toBeGreaterThan(0);
    // a2 is usually still transcoding here: the erasure stops its job before it deletes anything.
    const res = await call<{ videos: number; rows: Record<string, number> }>(t.url, 'DELETE', '/api/me', { token: tokens[ALICE] });
    expect(res.status).toBe(200);
    expect(res.body.videos).toBe(2);
    expect(Object.fromEntries(await rowsMentioning(sql, ids))).toEqual({});
    const hits = [
      ...(await objectsMentioning('publish', publish, ids)),
      ...(await objectsMentioning('archive', archive, ids)),
      ...(await filesMentioning(t.dataDir, ids)),
    ];
    expect(hits).toEqual([]);
    // The queue: finished job records and queued webhook deliveries are gone; BullMQ's capped event streams are not.
    expect((await redisMentioning(t.config.redisUrl, t.config.queuePrefix, ids)).hits).toEqual([]);
    expect(JSON.stringify([...stub.videos.keys()].map((uid) => stub.videoJson(uid)))).not.toMatch(new RegExp(`${a1}|${ALICE}|Alice`));
    expect(stub.videos.size).toBe(1); // Bob's copy
    const kept = await sql<{ action: string; actor: string; notes: string | null }[]>`SELECT action, actor, notes
      FROM moderation_audit WHERE pseudonymised_at IS NOT NULL ORDER BY id`;
    expect(kept.map((r) => r.action)).toEqual(expect.arrayContaining(['approved', 'edited', 'deleted']));
    expect(kept.find((r) => r.action === 'approved')).toMatchObject({ actor: MOD, notes: null });
    expect(kept.find((r) => r.action === 'edited')?.actor).toMatch(/^erased:[0-9a-f]{32}$/);
    // Bob is untouched.
    const bob = await call<{ status: string }>(t.url, 'GET', `/api/videos/${b1}`, { token: tokens[BOB] });
    expect([bob.status, bob.body.status]).toEqual([200, 'ready']);
    expect((await publish.list(`hls/${b1}/`)).length).toBeGreaterThan(0);
    // Sent again, it finds nothing left to do.
    const again = await call<{ videos: number }>(t.url, 'DELETE', '/api/me', { token: tokens[ALICE] });
    expect([again.status, again.body.videos]).toEqual([200, 0]);
  }, 120_000);

  it('refuses to rewrite or delete an audit decision, pseudonymised or not', async () => {
    expect((await call(t.url, 'POST', `/api/moderation/videos/${b1}/approve`, { token: tokens[MOD], body: {} })).status).toBe(200);
    await expect(sql`UPDATE moderation_audit SET action = 'rejected' WHERE action = 'approved'`).rejects.toMatchObject({ code: '42501' });
    await expect(sql`DELETE FROM moderation_audit`).rejects.toMatchObject({ code: '42501' });
    await expect(sql`UPDATE moderation_audit SET actor = 'someone', pseudonymised_at = now() WHERE video_id = ${b1}`).rejects.toMatchObject(
      {
        code: '42501',
      },
    );
  });

  it('erases a staff account: the name leaves the audit, the videos judged and their events; decisions and notes stay', async () => {
    const notes = 'fine under rule 4';
    expect((await call(t.url, 'POST', `/api/moderation/videos/${b1}/approve`, { token: tokens[MOD], body: { notes } })).status).toBe(200);
    expect(Object.keys(Object.fromEntries(await rowsMentioning(sql, [MOD])))).toEqual(
      expect.arrayContaining(['moderation_audit', 'videos', 'webhook_outbox']),
    );
    const res = await call<{ videos: number }>(t.url, 'DELETE', `/api/admin/users/${MOD}`, { token: tokens['root'] });
    expect([res.status, res.body.videos]).toEqual([200, 0]);
    expect(Object.fromEntries(await rowsMentioning(sql, [MOD]))).toEqual({});
    const audit = await sql<{ actor: string; notes: string | null; video_id: string }[]>`SELECT actor, notes, video_id::text
      FROM moderation_audit WHERE action = 'approved' AND video_id = ${b1} ORDER BY id`;
    expect(audit.map((r) => r.actor.startsWith('erased:'))).toEqual(audit.map(() => true));
    expect(audit.at(-1)?.notes).toBe(notes);
    // Staff see the pseudonym where the name was; the uploader never saw which moderator decided.
    const staff = await call<{ moderation: { status: string; by: string } }>(t.url, 'GET', `/api/videos/${b1}`, { token: tokens['root'] });
    expect([staff.status, staff.body.moderation.status, staff.body.moderation.by]).toEqual([
      200,
      'approved',
      expect.stringMatching(/^erased:/),
    ]);
    const bob = await call<{ moderation: { status: string; by: string } }>(t.url, 'GET', `/api/videos/${b1}`, { token: tokens[BOB] });
    expect([bob.status, bob.body.moderation.status, bob.body.moderation.by]).toEqual([200, 'approved', '(moderator)']);
  });

  it('deletes webhook log rows past their retention and keeps recent ones', async () => {
    await sql`INSERT INTO webhook_deliveries (event_id, event_type, url, attempt, ok, duration_ms, created_at) VALUES
      (gen_random_uuid(), 'video.ready', 'https://old.example', 1, true, 5, now() - interval '40 days'),
      (gen_random_uuid(), 'video.ready', 'https://new.example', 1, true, 5, now() - interval '1 day')`;
    const deleted = await new PersonalDataStore(sql).sweepRetention({ webhookLog: 30 });
    expect(deleted['webhook_deliveries']).toBeGreaterThanOrEqual(1);
    const urls = (await sql<{ url: string }[]>`SELECT url FROM webhook_deliveries`).map((r) => r.url);
    expect(urls).toContain('https://new.example');
    expect(urls).not.toContain('https://old.example');
  });
});
