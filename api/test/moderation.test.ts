import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { call, codeOf } from './http.ts';
import { seedVideo } from '../../test/helpers/seed.ts';

interface Detail {
  id: string;
  status: string;
  moderation: { status: string; notes: string | null; by: string | null; at: string | null };
  playback: { url: string; scope: string; posterUrl: string | null } | null;
}
interface Audit {
  items: Array<{
    action: string;
    actor: string;
    actorRole: string;
    notes: string | null;
    fromStatus: string;
    toStatus: string;
    requestId: string;
  }>;
}

describe('moderation flow and deletion', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let storage: LocalDiskStorage;
  let alice: string;
  let mod: string;
  let admin: string;
  let v1: string;
  let v2: string;
  let busy: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    storage = new LocalDiskStorage({ root: t.config.publishDir });
    v1 = await seedVideo(sql, storage, { uploaderId: 'alice' });
    v2 = await seedVideo(sql, storage, { uploaderId: 'alice' });
    busy = await seedVideo(sql, storage, { uploaderId: 'alice', status: 'processing' });
    [alice, mod, admin] = await Promise.all([tokenFor('alice', 'uploader'), tokenFor('mod-7', 'moderator'), tokenFor('root', 'admin')]);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('queues ready, pending videos oldest first; processing ones only once previewable', async () => {
    const q = await call<{ items: Array<{ id: string }> }>(t.url, 'GET', '/api/moderation/queue', { token: mod });
    expect(q.body.items.map((v) => v.id)).toEqual([v1, v2]);
    // A transcode whose first segments are published is reviewable: it joins the queue and previews.
    const live = await seedVideo(sql, storage, { uploaderId: 'alice', status: 'processing' });
    await new VideoRepository(sql).markPreviewable(live, { hlsPrefix: `hls/${live}`, masterKey: `hls/${live}/master.m3u8` });
    const q2 = await call<{ items: Array<{ id: string }> }>(t.url, 'GET', '/api/moderation/queue', { token: mod });
    expect(q2.body.items.map((v) => v.id)).toEqual([v1, v2, live]);
    expect(q2.body.items.map((v) => v.id)).not.toContain(busy);
    const preview = await call<{ scope: string }>(t.url, 'GET', `/api/playback/${live}`, { token: mod });
    expect(preview.body.scope).toBe('preview');
    expect((await call(t.url, 'GET', `/api/playback/${live}`)).status).toBe(403);
    const approve = await call(t.url, 'POST', `/api/moderation/videos/${live}/approve`, { token: mod, body: {} });
    expect([approve.status, codeOf(approve)]).toEqual([409, 'MODERATION_NOT_READY']);
    // Rejecting does not wait for the transcode: obviously bad content is stopped while it is still processing.
    const reject = await call<Detail>(t.url, 'POST', `/api/moderation/videos/${live}/reject`, {
      token: mod,
      body: { notes: 'not for kids' },
    });
    expect([reject.status, reject.body.moderation.status, reject.body.status]).toEqual([200, 'rejected', 'processing']);
    const q3 = await call<{ items: Array<{ id: string }> }>(t.url, 'GET', '/api/moderation/queue', { token: mod });
    expect(q3.body.items.map((v) => v.id)).not.toContain(live);
    await sql`DELETE FROM videos WHERE id = ${live}`;
  });

  it('lets players play only approved videos while moderators and owners preview', async () => {
    const pub = await call(t.url, 'GET', `/api/playback/${v1}`);
    expect([pub.status, codeOf(pub)]).toEqual([403, 'PLAYBACK_NOT_APPROVED']);
    const preview = await call<{ scope: string; url: string }>(t.url, 'GET', `/api/playback/${v1}`, { token: mod });
    expect(preview.body.scope).toBe('preview');
    const master = await call(t.url, 'GET', preview.body.url);
    expect(master.status).toBe(200);
    const owner = await call<Detail>(t.url, 'GET', `/api/videos/${v1}`, { token: alice });
    expect(owner.body.playback?.scope).toBe('preview');
    expect(owner.body.playback?.posterUrl).toContain('/poster.jpg?sig=');
  });

  it('approves with notes, records moderated_by/at and an audit row, and opens playback', async () => {
    const r = await call<Detail>(t.url, 'POST', `/api/moderation/videos/${v1}/approve`, {
      token: mod,
      body: { notes: 'fine' },
      headers: { 'x-request-id': 'req-approve-1' },
    });
    expect(r.status).toBe(200);
    expect(r.body.moderation).toMatchObject({ status: 'approved', notes: 'fine', by: 'mod-7' });
    expect(Date.parse(r.body.moderation.at!)).toBeGreaterThan(Date.now() - 60_000);
    // The uploader learns the decision and the notes, not which moderator took it.
    const own = await call<Detail>(t.url, 'GET', `/api/videos/${v1}`, { token: alice });
    expect(own.body.moderation).toMatchObject({ status: 'approved', notes: 'fine', by: '(moderator)' });
    const mine = await call<{ items: Detail[] }>(t.url, 'GET', '/api/videos', { token: alice });
    expect(JSON.stringify(mine.body)).not.toContain('mod-7');
    const pub = await call<{ scope: string; url: string }>(t.url, 'GET', `/api/playback/${v1}`);
    expect(pub.status).toBe(200);
    expect(pub.body.scope).toBe('public');
    expect((await call(t.url, 'GET', pub.body.url)).status).toBe(200);
    const queue = await call<{ items: Array<{ id: string }> }>(t.url, 'GET', '/api/moderation/queue', { token: mod });
    expect(queue.body.items.map((v) => v.id)).toEqual([v2]);
  });

  it('rejects only with notes; a rejection revokes public playlists signed before it', async () => {
    const pub = await call<{ url: string }>(t.url, 'GET', `/api/playback/${v1}`);
    expect(codeOf(await call(t.url, 'POST', `/api/moderation/videos/${v1}/reject`, { token: mod, body: {} }))).toBe('API_BAD_REQUEST');
    const r = await call<Detail>(t.url, 'POST', `/api/moderation/videos/${v1}/reject`, { token: admin, body: { notes: 'shows a face' } });
    expect(r.body.moderation).toMatchObject({ status: 'rejected', notes: 'shows a face', by: 'root' });
    const again = await call(t.url, 'GET', pub.body.url);
    expect([again.status, codeOf(again)]).toEqual([403, 'PLAYBACK_NOT_APPROVED']);
    expect(codeOf(await call(t.url, 'GET', `/api/playback/${v1}`))).toBe('PLAYBACK_NOT_APPROVED');
  });

  it('refuses to approve videos that are not ready (409) or moderate ones that do not exist (404)', async () => {
    const r = await call(t.url, 'POST', `/api/moderation/videos/${busy}/approve`, { token: mod, body: {} });
    expect([r.status, codeOf(r)]).toEqual([409, 'MODERATION_NOT_READY']);
    const missing = await call(t.url, 'POST', '/api/moderation/videos/00000000-0000-4000-8000-000000000000/approve', {
      token: mod,
      body: {},
    });
    expect(codeOf(missing)).toBe('API_NOT_FOUND');
  });

  it('keeps an append-only audit log that the database refuses to rewrite', async () => {
    const a = await call<Audit>(t.url, 'GET', `/api/moderation/videos/${v1}/audit`, { token: mod });
    expect(a.body.items.map((x) => [x.action, x.actor, x.actorRole, x.fromStatus, x.toStatus, x.notes])).toEqual([
      ['approved', 'mod-7', 'moderator', 'pending', 'approved', 'fine'],
      ['rejected', 'root', 'admin', 'approved', 'rejected', 'shows a face'],
    ]);
    expect(a.body.items[0]!.requestId).toBe('req-approve-1');
    await expect(sql`UPDATE moderation_audit SET notes = 'edited' WHERE video_id = ${v1}`).rejects.toMatchObject({ code: '42501' });
    await expect(sql`DELETE FROM moderation_audit WHERE video_id = ${v1}`).rejects.toMatchObject({ code: '42501' });
    await expect(sql`TRUNCATE moderation_audit`).rejects.toMatchObject({ code: '42501' });
    const [{ n }] = await sql<[{ n: number }]>`SELECT count(*)::int AS n FROM moderation_audit WHERE video_id = ${v1}`;
    expect(n).toBe(2);
  });

  it('deletes HLS objects, staged upload files, master, work dirs and the row; the archive only when asked and configured', async () => {
    const [row] = await sql<[{ source_key: string }]>`SELECT source_key FROM videos WHERE id = ${v2}`;
    await writeFile(path.join(t.config.uploadDir, row.source_key), 'upload-bytes');
    await writeFile(path.join(t.config.uploadDir, `${row.source_key}.json`), '{}');
    await writeFile(path.join(t.config.uploadDir, `restored-${v2}`), 'restored-master');
    // The layout prepareMaster and the transcode job leave: masters/<id>/master.<ext>, work/<id>-<random>/.
    await mkdir(path.join(t.config.mastersDir, v2), { recursive: true });
    await writeFile(path.join(t.config.mastersDir, v2, 'master.mp4'), 'full-quality-master');
    for (const w of [`${v2}-a1b2c3`, `${v2}-d4e5f6/v0`]) await mkdir(path.join(t.config.workDir, w), { recursive: true });
    await writeFile(path.join(t.config.workDir, `${v2}-d4e5f6`, 'v0', 'seg_000.m4s'), 'partial');
    // Another video's files share the directories and must survive.
    await mkdir(path.join(t.config.mastersDir, v1), { recursive: true });
    await mkdir(path.join(t.config.workDir, `${v1}-zzz`), { recursive: true });
    const noArchive = await call(t.url, 'DELETE', `/api/videos/${v2}?archive=true`, { token: alice });
    expect([noArchive.status, codeOf(noArchive)]).toEqual([409, 'API_ARCHIVE_UNAVAILABLE']);
    expect((await storage.list(`hls/${v2}/`)).length).toBeGreaterThan(5); // nothing deleted by the refused call
    const r = await call(t.url, 'DELETE', `/api/videos/${v2}`, { token: alice });
    expect(r.body).toEqual({ deleted: true, hlsObjects: 11, archiveDeleted: false, masterDeleted: true, workDirsDeleted: 2 });
    expect(await storage.list(`hls/${v2}/`)).toEqual([]);
    expect(await readdir(t.config.uploadDir)).not.toContain(row.source_key);
    expect(await readdir(t.config.uploadDir)).not.toContain(`${row.source_key}.json`);
    expect(await readdir(t.config.uploadDir)).not.toContain(`restored-${v2}`);
    expect(await readdir(t.config.mastersDir)).toEqual([v1]);
    expect(await readdir(t.config.workDir)).toEqual([`${v1}-zzz`]);
    expect(codeOf(await call(t.url, 'GET', `/api/videos/${v2}`, { token: admin }))).toBe('API_NOT_FOUND');
    const a = await call<Audit>(t.url, 'GET', `/api/moderation/videos/${v2}/audit`, { token: mod });
    expect(a.body.items.map((x) => [x.action, x.actor])).toEqual([['deleted', 'alice']]);
  });
});
