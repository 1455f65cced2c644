import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { seedVideo } from '../../test/helpers/seed.ts';
import { call, codeOf } from './http.ts';

interface Page {
  items: Array<{ id: string; title: string }>;
  nextCursor: string | null;
}
interface Detail {
  id: string;
  title: string;
  moderation: { status: string };
  undoUntil?: string;
}
type BulkItem = { id: string; ok: true; moderationStatus: string; undoUntil: string } | { id: string; ok: false; error: { code: string } };

const MISSING = '00000000-0000-4000-8000-000000000000';

/** Bulk decisions, queue filters, undo and the uploader's edits, against the running API. */
describe("a moderator's day: filters, bulk decisions, undo; an uploader's edits", () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let storage: LocalDiskStorage;
  /** Added to the API's clock (undo window); real time otherwise. */
  let skewMs = 0;
  let mod: string;
  let mod2: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], now: () => Date.now() + skewMs });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    storage = new LocalDiskStorage({ root: t.config.publishDir });
    [mod, mod2, alice, bob] = await Promise.all([
      tokenFor('mod-1', 'moderator'),
      tokenFor('mod-2', 'moderator'),
      tokenFor('alice', 'uploader'),
      tokenFor('bob', 'uploader'),
    ]);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const queue = async (query: string): Promise<string[]> => {
    const r = await call<Page>(t.url, 'GET', `/api/moderation/queue${query}`, { token: mod });
    expect(r.status).toBe(200);
    return r.body.items.map((i) => i.title);
  };
  const seed = (title: string, uploaderId: string): Promise<string> => seedVideo(sql, storage, { uploaderId, title });
  async function previewable(title: string, uploaderId: string): Promise<string> {
    const id = await seedVideo(sql, storage, { uploaderId, title, status: 'processing' });
    await new VideoRepository(sql).markPreviewable(id, { hlsPrefix: `hls/${id}`, masterKey: `hls/${id}/master.m3u8` });
    return id;
  }
  /** Webhook events about decisions (the seed's video.created / video.ready left out). */
  const events = (id: string) =>
    sql<Array<{ event_type: string; data: Record<string, unknown> }>>`SELECT event_type, data FROM webhook_outbox
      WHERE video_id = ${id} AND event_type NOT IN ('video.created', 'video.ready') ORDER BY created_at, id`;
  const audit = async (id: string) =>
    (
      await call<{ items: Array<{ action: string; actor: string; fromStatus: string; toStatus: string }> }>(
        t.url,
        'GET',
        `/api/moderation/videos/${id}/audit`,
        { token: mod },
      )
    ).body.items.map((a) => [a.action, a.actor, a.fromStatus, a.toStatus]);

  it('filters the queue by status, uploader and title text, oldest or newest first, with paging', async () => {
    await seed('Zebra picnic', 'alice');
    await seed('Beach day', 'bob');
    await previewable('zebra crossing', 'bob');
    expect(await queue('')).toEqual(['Zebra picnic', 'Beach day', 'zebra crossing']);
    expect(await queue('?order=newest')).toEqual(['zebra crossing', 'Beach day', 'Zebra picnic']);
    expect(await queue('?status=ready')).toEqual(['Zebra picnic', 'Beach day']);
    expect(await queue('?status=processing')).toEqual(['zebra crossing']);
    expect(await queue('?uploader=bob')).toEqual(['Beach day', 'zebra crossing']);
    expect(await queue('?q=ZEBRA')).toEqual(['Zebra picnic', 'zebra crossing']);
    expect(await queue('?q=zebra&uploader=bob&status=processing')).toEqual(['zebra crossing']);
    // The search is plain text: SQL wildcards and quotes match only themselves.
    for (const q of ['%', '_', "'", '%25%27%20OR%201%3D1--']) expect(await queue(`?q=${q}`)).toEqual([]);
    const first = await call<Page>(t.url, 'GET', '/api/moderation/queue?order=newest&limit=2', { token: mod });
    const rest = await call<Page>(t.url, 'GET', `/api/moderation/queue?order=newest&limit=2&cursor=${first.body.nextCursor}`, {
      token: mod,
    });
    expect([...first.body.items, ...rest.body.items].map((i) => i.title)).toEqual(['zebra crossing', 'Beach day', 'Zebra picnic']);
    for (const bad of ['?status=failed', '?order=sideways', `?q=${'x'.repeat(201)}`, '?uploader=']) {
      expect(codeOf(await call(t.url, 'GET', `/api/moderation/queue${bad}`, { token: mod })), bad).toBe('API_BAD_REQUEST');
    }
    expect(codeOf(await call(t.url, 'GET', '/api/moderation/queue?q=zebra', { token: alice }))).toBe('AUTH_FORBIDDEN');
  });

  it('decides many videos in one request, with a result per id: one that cannot be decided does not stop the others', async () => {
    const [a, b] = [await seed('Bulk A', 'alice'), await seed('Bulk B', 'bob')];
    const busy = await previewable('Bulk busy', 'bob');
    const r = await call<{ items: BulkItem[] }>(t.url, 'POST', '/api/moderation/decisions', {
      token: mod,
      body: { ids: [a, busy, MISSING, b], decision: 'approve' },
    });
    expect(r.status).toBe(200);
    expect(r.body.items.map((i) => [i.id, i.ok ? i.moderationStatus : i.error.code])).toEqual([
      [a, 'approved'],
      [busy, 'MODERATION_NOT_READY'],
      [MISSING, 'API_NOT_FOUND'],
      [b, 'approved'],
    ]);
    const ok = r.body.items[0] as Extract<BulkItem, { ok: true }>;
    expect(Date.parse(ok.undoUntil) - Date.now()).toBeGreaterThan(5_000);
    // Each is audited and announced like a single decision.
    expect(await audit(a)).toEqual([['approved', 'mod-1', 'pending', 'approved']]);
    expect((await events(a)).map((e) => e.event_type)).toEqual(['video.approved']);
    expect(await audit(busy)).toEqual([]);
    expect((await call(t.url, 'GET', `/api/playback/${b}`)).status).toBe(200);

    // Rejecting shares one note, and works on a video that is still processing.
    const noNotes = await call(t.url, 'POST', '/api/moderation/decisions', { token: mod, body: { ids: [busy], decision: 'reject' } });
    expect([noNotes.status, codeOf(noNotes)]).toEqual([400, 'API_BAD_REQUEST']);
    const rej = await call<{ items: BulkItem[] }>(t.url, 'POST', '/api/moderation/decisions', {
      token: mod,
      body: { ids: [busy, b], decision: 'reject', notes: 'Shows a school name' },
    });
    expect(rej.body.items.map((i) => i.ok && i.moderationStatus)).toEqual(['rejected', 'rejected']);
    expect(codeOf(await call(t.url, 'GET', `/api/playback/${b}`))).toBe('PLAYBACK_NOT_APPROVED');
    const [row] = await sql<[{ moderation_notes: string }]>`SELECT moderation_notes FROM videos WHERE id = ${busy}`;
    expect(row.moderation_notes).toBe('Shows a school name');

    // Nasty requests are refused as a whole, before anything is decided.
    const bad = [
      { ids: [], decision: 'approve' },
      { ids: [a, a], decision: 'approve' },
      { ids: ['not-a-uuid'], decision: 'approve' },
      { ids: Array.from({ length: 101 }, () => MISSING), decision: 'approve' },
      { ids: [a], decision: 'delete' },
      { ids: [a], decision: 'reject', notes: 'x'.repeat(2001) },
    ];
    for (const body of bad)
      expect(codeOf(await call(t.url, 'POST', '/api/moderation/decisions', { token: mod, body }))).toBe('API_BAD_REQUEST');
    const uploader = await call(t.url, 'POST', '/api/moderation/decisions', { token: alice, body: { ids: [a], decision: 'approve' } });
    expect([uploader.status, codeOf(uploader)]).toEqual([403, 'AUTH_FORBIDDEN']);
    expect(await audit(a)).toHaveLength(1);
  });

  it('undoes an approval within the window: back to the queue, links issued meanwhile revoked, audited and announced', async () => {
    const v = await seed('Undo me', 'alice');
    const approved = await call<Detail>(t.url, 'POST', `/api/moderation/videos/${v}/approve`, { token: mod, body: {} });
    expect(approved.body.undoUntil).toBeDefined();
    const pub = await call<{ url: string }>(t.url, 'GET', `/api/playback/${v}`);
    expect((await call(t.url, 'GET', pub.body.url)).status).toBe(200);

    const other = await call(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: mod2 });
    expect([other.status, codeOf(other)]).toEqual([403, 'MODERATION_UNDO_NOT_YOURS']);
    const undo = await call<Detail>(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: mod });
    expect([undo.status, undo.body.moderation.status]).toEqual([200, 'pending']);
    // The link a viewer got during the window is dead at once, and stays dead if the video is approved again.
    const dead = await call(t.url, 'GET', pub.body.url);
    expect([dead.status, codeOf(dead)]).toEqual([403, 'PLAYBACK_NOT_APPROVED']);
    expect(await queue('?q=Undo me')).toEqual(['Undo me']);
    expect(await audit(v)).toEqual([
      ['approved', 'mod-1', 'pending', 'approved'],
      ['undone', 'mod-1', 'approved', 'pending'],
    ]);
    const ev = await events(v);
    expect(ev.map((e) => e.event_type)).toEqual(['video.approved', 'video.returned_to_review']);
    expect(ev[1]!.data).toMatchObject({
      reason: 'undo',
      previousDecision: 'approved',
      by: 'mod-1',
      video: { moderationStatus: 'pending' },
    });
    const again = await call(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: mod });
    expect([again.status, codeOf(again)]).toEqual([409, 'MODERATION_NOTHING_TO_UNDO']);

    await call(t.url, 'POST', `/api/moderation/videos/${v}/approve`, { token: mod, body: {} });
    const stale = await call(t.url, 'GET', pub.body.url);
    expect([stale.status, codeOf(stale)]).toEqual([403, 'PLAYBACK_REVOKED']);
    skewMs = 11_000;
    try {
      const late = await call(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: mod });
      expect([late.status, codeOf(late)]).toEqual([409, 'MODERATION_UNDO_EXPIRED']);
    } finally {
      skewMs = 0;
    }
    expect(codeOf(await call(t.url, 'POST', `/api/moderation/videos/${MISSING}/undo`, { token: mod }))).toBe('API_NOT_FOUND');
    expect(codeOf(await call(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: alice }))).toBe('AUTH_FORBIDDEN');
  });

  it('undoes a rejection: the video waits for review again and its owner can preview it', async () => {
    const v = await seed('Rejected by mistake', 'alice');
    await call(t.url, 'POST', `/api/moderation/videos/${v}/reject`, { token: mod, body: { notes: 'wrong button' } });
    expect(codeOf(await call(t.url, 'GET', `/api/playback/${v}`, { token: alice }))).toBe('PLAYBACK_REJECTED');
    const undo = await call<Detail>(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: mod });
    expect(undo.body.moderation.status).toBe('pending');
    expect((await call(t.url, 'GET', `/api/playback/${v}`, { token: alice })).status).toBe(200);
    expect((await events(v)).map((e) => [e.event_type, e.data['previousDecision']])).toEqual([
      ['video.rejected', undefined],
      ['video.returned_to_review', 'rejected'],
    ]);
  });

  it('lets only the owner edit; an approved video whose text changes goes back to review and stops playing', async () => {
    const v = await seed('Our garden', 'alice');
    await call(t.url, 'POST', `/api/moderation/videos/${v}/approve`, { token: mod, body: {} });
    const pub = await call<{ url: string }>(t.url, 'GET', `/api/playback/${v}`);
    // Sending the same text changes nothing, so the approval stands.
    const same = await call<Detail>(t.url, 'PATCH', `/api/videos/${v}`, { token: alice, body: { title: 'Our garden' } });
    expect(same.body.moderation.status).toBe('approved');

    expect(codeOf(await call(t.url, 'PATCH', `/api/videos/${v}`, { token: bob, body: { title: 'mine' } }))).toBe('API_NOT_FOUND');
    const byMod = await call(t.url, 'PATCH', `/api/videos/${v}`, { token: mod, body: { title: 'fixed' } });
    expect([byMod.status, codeOf(byMod)]).toEqual([403, 'AUTH_FORBIDDEN']);
    for (const body of [{ title: '   ' }, { title: 'a\u0000b' }, { description: 'x\u001b[31m' }, { description: 'x'.repeat(5001) }, {}]) {
      expect(codeOf(await call(t.url, 'PATCH', `/api/videos/${v}`, { token: alice, body })), JSON.stringify(body)).toBe('API_BAD_REQUEST');
    }

    const edited = await call<Detail>(t.url, 'PATCH', `/api/videos/${v}`, {
      token: alice,
      body: { title: 'Call 555-0100', description: 'line one\nline two' },
    });
    expect([edited.status, edited.body.title, edited.body.moderation.status]).toEqual([200, 'Call 555-0100', 'pending']);
    expect(codeOf(await call(t.url, 'GET', pub.body.url))).toBe('PLAYBACK_NOT_APPROVED');
    expect(await queue('?q=555')).toEqual(['Call 555-0100']);
    expect((await audit(v)).at(-1)).toEqual(['edited', 'alice', 'approved', 'pending']);
    expect((await events(v)).at(-1)).toMatchObject({
      event_type: 'video.returned_to_review',
      data: { reason: 'edited', previousDecision: 'approved', by: 'alice' },
    });
    // The moderator's undo window closed with the edit: the latest change is the uploader's.
    expect(codeOf(await call(t.url, 'POST', `/api/moderation/videos/${v}/undo`, { token: mod }))).toBe('MODERATION_NOTHING_TO_UNDO');

    // A rejected video stays rejected when edited: an edit is not an appeal.
    await call(t.url, 'POST', `/api/moderation/videos/${v}/reject`, { token: mod, body: { notes: 'phone number' } });
    const after = await call<Detail>(t.url, 'PATCH', `/api/videos/${v}`, { token: alice, body: { title: 'Our garden' } });
    expect(after.body.moderation.status).toBe('rejected');
  });
});
