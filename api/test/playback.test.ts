import { request } from 'node:http';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TEST_PLAYBACK_KEY, tokenFor } from '../../test/helpers/auth.ts';
import { PlaybackSigner } from '../playback/signing.ts';
import { signPlaylist } from '../playback/rewrite.ts';
import { call, codeOf } from './http.ts';
import { seedVideo } from '../../test/helpers/seed.ts';

/** Sends the path byte-for-byte (fetch would normalise "..", which is exactly what these tests must not do). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; code: string | undefined }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('signed HLS playback', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let a: string;
  let b: string;
  let signer: PlaybackSigner;

  beforeAll(async () => {
    t = await startTestApp({ roles: ['api'], env: { CORS_ORIGINS: 'https://embed.example' } });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    a = await seedVideo(sql, storage, { uploaderId: 'u' });
    b = await seedVideo(sql, storage, { uploaderId: 'u' });
    const mod = await tokenFor('m', 'moderator');
    for (const id of [a, b]) await call(t.url, 'POST', `/api/moderation/videos/${id}/approve`, { token: mod, body: {} });
    signer = new PlaybackSigner({ key: TEST_PLAYBACK_KEY, ttlSec: 600 });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('rewrites every URI of master and media playlists to carry the signature, and serves what they name', async () => {
    const p = await call<{ url: string }>(t.url, 'GET', `/api/playback/${a}`);
    const master = await fetch(`${t.url}${p.body.url}`);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('cache-control')).toBe('private, no-store');
    const text = await master.text();
    const sig = new URL(p.body.url, t.url).searchParams.get('sig')!;
    const q = `?sig=${encodeURIComponent(sig)}`;
    expect(text).toContain(`URI="audio/index.m3u8${q}"`);
    expect(text).toContain(`\nv0/index.m3u8${q}\n`);
    expect(text).toContain(`URI="v0/iframes.m3u8${q}"`);
    const media = await (await fetch(new URL(`v0/index.m3u8${q}`, `${t.url}/hls/${a}/`))).text();
    expect(media).toContain(`#EXT-X-MAP:URI="init.mp4${q}"`);
    expect(media).toContain(`seg_001.m4s${q}`);
    const seg = await fetch(new URL(`v0/seg_001.m4s${q}`, `${t.url}/hls/${a}/`));
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/iso.segment');
    expect(await seg.text()).toBe('segment-1-bytes');
  });

  it('refuses missing, tampered, expired and cross-video signatures with 403 codes', async () => {
    const pub = { audience: 'public' } as const;
    const { sig } = signer.sign(a, pub, 0);
    const [exp, aud, epoch, who, mac] = sig.split('.') as [string, string, string, string, string];
    const get = async (id: string, s?: string) => {
      const r = await call(t.url, 'GET', `/hls/${id}/v0/seg_000.m4s${s === undefined ? '' : `?sig=${encodeURIComponent(s)}`}`);
      return [r.status, codeOf(r)];
    };
    expect(await get(a, sig)).toEqual([200, undefined]);
    expect(await get(a)).toEqual([403, 'PLAYBACK_SIGNATURE_MISSING']);
    expect(await get(b, sig)).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']); // a's signature on b's files
    expect(await get(a, `${Number(exp) + 3600}.${aud}.${epoch}.${who}.${mac}`)).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']); // extended expiry
    expect(await get(a, `${exp}.m.${epoch}.${who}.${mac}`)).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']); // viewer → moderator
    expect(await get(a, `${exp}.${aud}.${Number(epoch) + 1}.${who}.${mac}`)).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']); // epoch
    const ownerSig = signer.sign(a, { audience: 'owner', principalId: 'u' }, 0).sig.split('.');
    ownerSig[3] = signer.principalTag('someone-else');
    expect(await get(a, ownerSig.join('.'))).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']); // another principal
    const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    expect(await get(a, `${exp}.${aud}.${epoch}.${who}.${flipped}`)).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']);
    expect(await get(a, 'garbage')).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']);
    const past = new PlaybackSigner({ key: TEST_PLAYBACK_KEY, ttlSec: 60, now: () => Date.now() - 3600_000 });
    expect(await get(a, past.sign(a, pub, 0).sig)).toEqual([403, 'PLAYBACK_SIGNATURE_EXPIRED']);
    const otherKey = new PlaybackSigner({ key: 'x'.repeat(40), ttlSec: 60 });
    expect(await get(a, otherKey.sign(a, pub, 0).sig)).toEqual([403, 'PLAYBACK_SIGNATURE_INVALID']);
  });

  it('refuses path traversal and non-package files with PLAYBACK_PATH_INVALID', async () => {
    const { sig } = signer.sign(a, { audience: 'public' }, 0);
    const q = `?sig=${encodeURIComponent(sig)}`;
    for (const p of [
      `/hls/${a}/../${b}/master.m3u8${q}`,
      `/hls/${a}/v0/..%2F..%2F${b}%2Fmaster.m3u8${q}`,
      `/hls/${a}/%2e%2e/%2e%2e/etc/passwd${q}`,
      `/hls/${a}/v0//seg_000.m4s${q}`,
      `/hls/${a}/v0\\..\\seg_000.m4s${q}`,
      `/hls/${a}/master.m3u8.meta.json${q}`,
      `/hls/${a}/.hidden.m3u8${q}`,
      `/hls/..%2F${a}/master.m3u8${q}`,
    ]) {
      const r = await rawGet(t.url, p);
      // The router may normalise a literal "/../" away before we see it; either way the file is never served.
      expect([p, r.status]).toEqual([p, 403]);
      expect(r.code === 'PLAYBACK_PATH_INVALID' || r.code === 'PLAYBACK_SIGNATURE_INVALID').toBe(true);
    }
  });

  it('allows CORS for listed embedding origins only, on player routes only', async () => {
    const { sig } = signer.sign(a, { audience: 'public' }, 0);
    const ok = await fetch(`${t.url}/hls/${a}/master.m3u8?sig=${encodeURIComponent(sig)}`, {
      headers: { origin: 'https://embed.example' },
    });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://embed.example');
    expect(ok.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const evil = await fetch(`${t.url}/api/playback/${a}`, { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const api = await fetch(`${t.url}/healthz`, { headers: { origin: 'https://embed.example' } });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends security headers with a CSP that allows the player (self scripts, blob: media and workers)', async () => {
    const page = await fetch(`${t.url}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("media-src 'self' blob: data:");
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).toContain("frame-ancestors 'self' https://embed.example");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBeNull(); // it would forbid the listed embedders
    expect(page.headers.get('strict-transport-security')).toContain('max-age=');
  });
});

describe('playlist rewriter', () => {
  it('signs relative URIs only, replaces a stored sig, keeps comments and absolute URIs', () => {
    const out = signPlaylist(
      [
        '#EXTM3U',
        '# a comment URI="x.m3u8"',
        '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"',
        'https://cdn.example/seg.m4s',
        '/abs/seg.m4s',
        '../up/seg.m4s',
        'seg.m4s?sig=old&x=1',
        '',
      ].join('\r\n'),
      'S',
    );
    expect(out.split('\n')).toEqual([
      '#EXTM3U',
      '# a comment URI="x.m3u8"',
      '#EXT-X-KEY:METHOD=AES-128,URI="key.bin?sig=S"',
      'https://cdn.example/seg.m4s',
      '/abs/seg.m4s',
      '../up/seg.m4s',
      'seg.m4s?x=1&sig=S',
      '',
    ]);
  });
});
