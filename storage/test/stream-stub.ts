import { createHash, randomBytes } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { signWebhook } from '../stream/webhook.ts';

/** One stub video; `script` is the sequence of states successive GETs reveal after the upload. */
interface StubVideo {
  uid: string;
  meta: Record<string, unknown>;
  requireSignedURLs: boolean;
  size: number;
  received: Buffer[];
  sha256: string | undefined;
  script: string[];
  errorReasonCode: string;
}

export interface StreamStub {
  readonly apiBase: string;
  readonly accountId: string;
  readonly token: string;
  readonly videos: Map<string, StubVideo>;
  /** Every request as `METHOD path` (tests check retries). */
  readonly requests: string[];
  /** The next `n` API calls answer 429 with `Retry-After: retryAfterSec`. */
  rateLimitNext(n: number, retryAfterSec: number): void;
  /** New videos end in state error with this reason (sent as errReasonCode, the older spelling); undefined = succeed. */
  failWith: string | undefined;
  /** The video object as GET returns it. */
  videoJson(uid: string): Record<string, unknown>;
  /** POSTs a signed webhook for `uid` to `url`; `time` defaults to now. */
  sendWebhook(url: string, uid: string, secret: string, time?: number): Promise<Response>;
  close(): Promise<void>;
}

const envelope = (result: unknown, errors: Array<{ code: number; message: string }> = []): Record<string, unknown> =>
  ({ result: errors.length ? null : result, success: errors.length === 0, errors, messages: [] });

/**
 * A local stand-in for the documented Cloudflare Stream API (v4 envelope, /copy, tus creation + PATCH, GET status,
 * signed webhooks). The copy endpoint really downloads the URL it is given, like Stream does, so presigned archive
 * URLs are exercised end to end.
 */
export async function startStreamStub(): Promise<StreamStub> {
  const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser('application/offset+octet-stream', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
  const accountId = randomBytes(16).toString('hex');
  const token = randomBytes(12).toString('hex');
  const videos = new Map<string, StubVideo>();
  const requests: string[] = [];
  let limited = 0;
  let retryAfter = 1;
  let base = '';

  const newVideo = (meta: Record<string, unknown>, requireSignedURLs: boolean, size: number): StubVideo => {
    const v: StubVideo = {
      uid: randomBytes(16).toString('hex'), meta, requireSignedURLs, size, received: [], sha256: undefined,
      script: stub.failWith ? ['queued', 'error'] : ['queued', 'inprogress', 'ready'], errorReasonCode: stub.failWith ?? '',
    };
    videos.set(v.uid, v);
    return v;
  };
  const videoJson = (uid: string): Record<string, unknown> => {
    const v = videos.get(uid)!;
    const state = v.script[0] ?? 'ready';
    const cdn = `https://customer-stub.cloudflarestream.com/${v.uid}`;
    return {
      uid: v.uid, meta: v.meta, requireSignedURLs: v.requireSignedURLs, size: v.size, readyToStream: state === 'ready',
      thumbnail: `${cdn}/thumbnails/thumbnail.jpg`,
      playback: { hls: `${cdn}/manifest/video.m3u8`, dash: `${cdn}/manifest/video.mpd` },
      status: state === 'error'
        ? { state, errReasonCode: v.errorReasonCode, errReasonText: 'stub failure' }
        : { state, pctComplete: state === 'ready' ? '100.000000' : '10.000000', errorReasonCode: '' },
    };
  };

  const api = `/client/v4/accounts/${accountId}/stream`;
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    requests.push(`${req.method} ${req.url.split('?')[0]}`);
    if (req.url.startsWith('/tus/') && req.method !== 'POST') return; // upload URLs carry no API auth in Stream either
    if (req.headers.authorization !== `Bearer ${token}`) return reply.code(403).send(envelope(null, [{ code: 10000, message: 'Authentication error' }]));
    if (limited > 0) {
      limited--;
      return reply.code(429).header('retry-after', String(retryAfter)).send(envelope(null, [{ code: 971, message: 'Please wait and consider throttling your request speed' }]));
    }
  });

  app.post<{ Body: { url?: unknown; meta?: Record<string, unknown>; requireSignedURLs?: boolean } }>(`${api}/copy`, async (req, reply) => {
    const { url } = req.body ?? {};
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return reply.code(400).send(envelope(null, [{ code: 10005, message: 'Invalid URL' }]));
    const head = await fetch(url, { method: 'HEAD' }).catch(() => undefined);
    const got = head?.ok ? await fetch(url) : undefined;
    if (!got?.ok) return reply.code(400).send(envelope(null, [{ code: 10005, message: `Could not fetch ${url}: ${got?.status ?? head?.status ?? 'network'}` }]));
    const body = Buffer.from(await got.arrayBuffer());
    const v = newVideo({ ...req.body.meta, 'downloaded-from': url }, req.body.requireSignedURLs === true, body.length);
    v.received.push(body);
    v.sha256 = createHash('sha256').update(body).digest('hex');
    return reply.send(envelope({ ...videoJson(v.uid), status: { state: 'downloading' } }));
  });

  app.post(api, async (req, reply) => {
    const len = Number(req.headers['upload-length']);
    if (req.headers['tus-resumable'] !== '1.0.0' || !Number.isInteger(len) || len <= 0) return reply.code(400).send(envelope(null, [{ code: 10005, message: 'Bad tus creation' }]));
    const meta: Record<string, unknown> = {};
    let signed = false;
    for (const pair of String(req.headers['upload-metadata'] ?? '').split(',').filter(Boolean)) {
      const [k, v] = pair.trim().split(' ');
      if (k === 'requiresignedurls') signed = true;
      else if (k) meta[k] = Buffer.from(v ?? '', 'base64').toString('utf8');
    }
    const v = newVideo(meta, signed, len);
    return reply.code(201).header('tus-resumable', '1.0.0').header('location', `${base}/tus/${v.uid}`).header('stream-media-id', v.uid).send();
  });
  app.head<{ Params: { uid: string } }>('/tus/:uid', async (req, reply) => {
    const v = videos.get(req.params.uid);
    if (!v) return reply.code(404).send();
    const off = v.received.reduce((n, b) => n + b.length, 0);
    return reply.header('tus-resumable', '1.0.0').header('upload-offset', String(off)).header('upload-length', String(v.size)).header('cache-control', 'no-store').send();
  });
  app.patch<{ Params: { uid: string }; Body: Buffer }>('/tus/:uid', async (req, reply) => {
    const v = videos.get(req.params.uid);
    if (!v) return reply.code(404).send();
    const off = v.received.reduce((n, b) => n + b.length, 0);
    if (Number(req.headers['upload-offset']) !== off) return reply.code(409).send();
    v.received.push(req.body);
    const now = off + req.body.length;
    if (now === v.size) v.sha256 = createHash('sha256').update(Buffer.concat(v.received)).digest('hex');
    return reply.code(204).header('tus-resumable', '1.0.0').header('upload-offset', String(now)).send();
  });

  app.get<{ Params: { uid: string } }>(`${api}/:uid`, async (req, reply) => {
    const v = videos.get(req.params.uid);
    if (!v) return reply.code(404).send(envelope(null, [{ code: 10003, message: 'Not found' }]));
    const body = envelope(videoJson(v.uid));
    if (v.script.length > 1) v.script.shift(); // each poll moves the video one state on
    return reply.send(body);
  });

  base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  let closing: Promise<void> | undefined;
  const stub: StreamStub = {
    apiBase: `${base}/client/v4`,
    accountId,
    token,
    videos,
    requests,
    failWith: undefined,
    rateLimitNext: (n, sec) => {
      limited = n;
      retryAfter = sec;
    },
    videoJson,
    sendWebhook: async (url, uid, secret, time) => {
      const body = JSON.stringify(videoJson(uid));
      const t = time ?? Math.floor(Date.now() / 1000);
      return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-signature': `time=${t},sig1=${signWebhook(secret, t, body)}` }, body });
    },
    close: () => (closing ??= app.close()),
  };
  return stub;
}
