import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TEST_PLAYBACK_KEY, tokenFor } from '../../test/helpers/auth.ts';
import { seedVideo } from '../../test/helpers/seed.ts';
import { PlaybackSigner } from '../playback/signing.ts';
import { call, codeOf } from './http.ts';

const VTT = 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i>Hello</i> & welcome\n';
const SRT = '1\r\n00:00:00,500 --> 00:00:01,500\r\n<b>Hallo</b>\r\n';

/** PUT of a caption file with its content type (fetch directly: the body is not JSON). */
async function upload(
  base: string,
  path: string,
  body: string | Buffer,
  o: { token?: string; type?: string } = {},
): Promise<{ status: number; code: string | undefined; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': o.type ?? 'text/vtt' };
  if (o.token) headers['authorization'] = `Bearer ${o.token}`;
  const res = await fetch(`${base}${path}`, { method: 'PUT', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, code: (json['error'] as { code?: string } | undefined)?.code, body: json };
}

describe('captions: upload, moderation gate, signed subtitle renditions', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let id: string;
  let owner: string;
  let mod: string;
  let stranger: string;
  const signer = new PlaybackSigner({ key: TEST_PLAYBACK_KEY, ttlSec: 600 });

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    id = await seedVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'owner' });
    await sql`UPDATE videos SET duration_sec = 3 WHERE id = ${id}`;
    [owner, mod, stranger] = await Promise.all([tokenFor('owner', 'uploader'), tokenFor('m', 'moderator'), tokenFor('other', 'uploader')]);
    await call(t.url, 'POST', `/api/moderation/videos/${id}/approve`, { token: mod, body: {} });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  const publicMaster = async (): Promise<{ text: string; sig: string }> => {
    const p = await call<{ url: string }>(t.url, 'GET', `/api/playback/${id}`);
    expect(p.status).toBe(200);
    const sig = new URL(p.body.url, t.url).searchParams.get('sig')!;
    return { text: await (await fetch(`${t.url}${p.body.url}`)).text(), sig };
  };
  const q = (sig: string): string => `?sig=${encodeURIComponent(sig)}`;

  it('lets the owner (WebVTT) and a moderator (SubRip) upload, and refuses strangers and anonymous callers', async () => {
    const mine = await upload(t.url, `/api/videos/${id}/captions/en?label=English`, VTT, { token: owner });
    expect([mine.status, mine.body['status'], mine.body['cueCount'], mine.body['format']]).toEqual([200, 'pending', 1, 'vtt']);
    const theirs = await upload(t.url, `/api/videos/${id}/captions/de`, SRT, { token: mod, type: 'application/x-subrip' });
    expect([theirs.status, theirs.body['label'], theirs.body['format']]).toEqual([200, 'de', 'srt']);
    expect((await upload(t.url, `/api/videos/${id}/captions/fr`, VTT, { token: stranger })).code).toBe('API_NOT_FOUND');
    expect((await upload(t.url, `/api/videos/${id}/captions/fr`, VTT)).code).toBe('AUTH_MISSING_TOKEN');
    // What the owner reads back is the re-serialised text, not the bytes sent.
    const text = await fetch(`${t.url}/api/videos/${id}/captions/en`, { headers: { authorization: `Bearer ${owner}` } });
    expect(await text.text()).toBe('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i>Hello</i> &amp; welcome\n');
    const list = await call<{ items: Array<{ lang: string }> }>(t.url, 'GET', `/api/videos/${id}/captions`, { token: stranger });
    expect(codeOf(list)).toBe('API_NOT_FOUND');
    const mineList = await call<{ items: Array<{ lang: string; status: string }> }>(t.url, 'GET', `/api/videos/${id}/captions`, {
      token: owner,
    });
    expect(mineList.body.items.map((c) => [c.lang, c.status])).toEqual([
      ['de', 'pending'],
      ['en', 'pending'],
    ]);
  });

  it('waits for the video length, and deletes a language on request', async () => {
    const fresh = await seedVideo(sql, new LocalDiskStorage({ root: t.config.publishDir }), { uploaderId: 'owner' });
    const early = await upload(t.url, `/api/videos/${fresh}/captions/en`, VTT, { token: owner });
    expect([early.status, early.code]).toEqual([409, 'INGEST_CAPTION_VIDEO_PENDING']);
    await sql`UPDATE videos SET duration_sec = 3 WHERE id = ${fresh}`;
    expect((await upload(t.url, `/api/videos/${fresh}/captions/en`, VTT, { token: owner })).status).toBe(200);
    expect((await call(t.url, 'DELETE', `/api/videos/${fresh}/captions/en`, { token: stranger })).status).toBe(404);
    expect((await call(t.url, 'DELETE', `/api/videos/${fresh}/captions/en`, { token: owner })).status).toBe(204);
    expect(codeOf(await call(t.url, 'DELETE', `/api/videos/${fresh}/captions/en`, { token: owner }))).toBe('API_NOT_FOUND');
  });

  it.each<[string, string | Buffer, string, string, number]>([
    ['HTML in a cue', 'WEBVTT\n\n00:00.000 --> 00:01.000\n<script>alert(1)</script>\n', 'text/vtt', 'INGEST_CAPTION_MARKUP', 422],
    ['a cue past the video', 'WEBVTT\n\n00:02.000 --> 00:09.000\nlate\n', 'text/vtt', 'INGEST_CAPTION_TIMING', 422],
    ['an HTML page sent as text/html', '<html></html>', 'text/html', 'INGEST_CAPTION_TYPE', 415],
    ['JSON', '{"text":"x"}', 'application/json', 'INGEST_CAPTION_TYPE', 415],
    ['Latin-1 bytes', Buffer.from('WEBVTT\n\n00:00.000 --> 00:01.000\ncaf\xe9\n', 'latin1'), 'text/vtt', 'INGEST_CAPTION_ENCODING', 422],
    ['600 KiB', `WEBVTT\n\nNOTE ${'x'.repeat(600 * 1024)}\n`, 'text/vtt', 'INGEST_CAPTION_TOO_LARGE', 413],
  ])('refuses %s with its code', async (_what, body, type, code, status) => {
    const res = await upload(t.url, `/api/videos/${id}/captions/it`, body, { token: owner, type });
    expect([res.status, res.code]).toEqual([status, code]);
  });

  it('stops reading a chunked body (no Content-Length) once it passes the cap', async () => {
    const chunk = new TextEncoder().encode(`NOTE ${'x'.repeat(64 * 1024)}\n\n`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 12) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${t.url}/api/videos/${id}/captions/it`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'text/vtt' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([413, 'INGEST_CAPTION_TOO_LARGE']);
  });

  it('refuses a language tag that is not one, after the token check', async () => {
    expect((await upload(t.url, `/api/videos/${id}/captions/..%2Fx`, VTT, { token: owner })).code).toBe('API_BAD_REQUEST');
    expect((await upload(t.url, `/api/videos/${id}/captions/EN`, VTT, { token: owner })).code).toBe('API_BAD_REQUEST');
    expect(
      (await upload(t.url, `/api/videos/${id}/captions/en?label=${encodeURIComponent('a",URI="x')}`, VTT, { token: owner })).code,
    ).toBe('API_BAD_REQUEST');
  });

  it('keeps pending captions away from viewers of the approved video, and previews them to moderators', async () => {
    const { text, sig } = await publicMaster();
    expect(text).not.toContain('SUBTITLES');
    const sub = await call(t.url, 'GET', `/hls/${id}/subs/en.vtt${q(sig)}`);
    expect([sub.status, codeOf(sub)]).toEqual([404, 'API_NOT_FOUND']);
    const [row] = await sql<Array<{ access_epoch: number }>>`SELECT access_epoch FROM videos WHERE id = ${id}`;
    const modSig = signer.sign(id, { audience: 'moderator', principalId: 'm' }, row!.access_epoch).sig;
    const preview = await (await fetch(`${t.url}/hls/${id}/master.m3u8${q(modSig)}`)).text();
    expect(preview).toContain(`TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en"`);
    const queue = await call<{ items: Array<{ lang: string; videoId: string }> }>(t.url, 'GET', '/api/moderation/captions', { token: mod });
    expect(queue.body.items.map((c) => c.lang).sort()).toEqual(['de', 'en']);
    const byOwner = await call(t.url, 'POST', `/api/moderation/videos/${id}/captions/en/approve`, { token: owner, body: {} });
    expect(codeOf(byOwner)).toBe('AUTH_FORBIDDEN');
  });

  it('lists an approved caption as a signed SUBTITLES rendition, serves it signed, and drops it again on reject or re-upload', async () => {
    const ok = await call(t.url, 'POST', `/api/moderation/videos/${id}/captions/en/approve`, { token: mod, body: {} });
    expect(ok.body['status']).toBe('approved');
    const { text, sig } = await publicMaster();
    expect(text).toContain(
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subs/en.m3u8${q(sig)}"`,
    );
    expect(text).not.toContain('LANGUAGE="de"');
    const variants = text.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:'));
    expect(variants.length).toBeGreaterThan(0);
    expect(variants.every((l) => l.endsWith(',SUBTITLES="subs"'))).toBe(true);
    const playlist = await fetch(`${t.url}/hls/${id}/subs/en.m3u8${q(sig)}`);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const pl = await playlist.text();
    expect(pl).toContain(`#EXTINF:3.000,\nen.vtt${q(sig)}\n#EXT-X-ENDLIST`);
    const vtt = await fetch(`${t.url}/hls/${id}/subs/en.vtt${q(sig)}`);
    expect([vtt.status, vtt.headers.get('content-type'), vtt.headers.get('cache-control')]).toEqual([
      200,
      'text/vtt; charset=utf-8',
      'private, no-store',
    ]);
    // Cue time 0 is where the picture starts: the transcoder's presentation offset, in 90 kHz ticks (RFC 8216 §3.5).
    expect(await vtt.text()).toBe(
      'WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:02.000\n<i>Hello</i> &amp; welcome\n',
    );
    // Unsigned, tampered, or reaching into the package: refused.
    expect(codeOf(await call(t.url, 'GET', `/hls/${id}/subs/en.vtt`))).toBe('PLAYBACK_SIGNATURE_MISSING');
    expect(codeOf(await call(t.url, 'GET', `/hls/${id}/subs/en.vtt?sig=${encodeURIComponent(sig.slice(0, -2))}xx`))).toBe(
      'PLAYBACK_SIGNATURE_INVALID',
    );
    expect(codeOf(await call(t.url, 'GET', `/hls/${id}/subs/EN.vtt${q(sig)}`))).toBe('PLAYBACK_PATH_INVALID');
    expect(codeOf(await call(t.url, 'GET', `/hls/${id}/subs/en/x.vtt${q(sig)}`))).toBe('PLAYBACK_PATH_INVALID');

    const no = await call(t.url, 'POST', `/api/moderation/videos/${id}/captions/en/reject`, { token: mod, body: { notes: 'typo' } });
    expect(no.body['status']).toBe('rejected');
    expect((await publicMaster()).text).not.toContain('SUBTITLES');
    expect(codeOf(await call(t.url, 'GET', `/hls/${id}/subs/en.vtt${q(sig)}`))).toBe('API_NOT_FOUND');

    await call(t.url, 'POST', `/api/moderation/videos/${id}/captions/en/approve`, { token: mod, body: {} });
    expect((await publicMaster()).text).toContain('LANGUAGE="en"');
    // A new upload replaces the text and needs a new approval before viewers get it.
    expect((await upload(t.url, `/api/videos/${id}/captions/en?label=English`, VTT, { token: owner })).body['status']).toBe('pending');
    expect((await publicMaster()).text).not.toContain('SUBTITLES');
    // Every caption decision is in the video's append-only audit, with the language; none counts as the video's own.
    const audit = await call(t.url, 'GET', `/api/moderation/videos/${id}/audit`, { token: mod });
    const captionRows = (audit.body['items'] as Array<Record<string, unknown>>).filter((a) => a['captionLang'] !== null);
    expect(captionRows.map((a) => [a['action'], a['captionLang'], a['notes'], a['fromStatus'], a['toStatus']])).toEqual([
      ['caption_approved', 'en', null, 'pending', 'approved'],
      ['caption_rejected', 'en', 'typo', 'approved', 'rejected'],
      ['caption_approved', 'en', null, 'rejected', 'approved'],
    ]);
  });
});
