import { createHash, createHmac, randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Cloudflare's side of a webhook signature (`sig1` = hex HMAC-SHA256 of `time.body`), written out here rather than
 * taken from the code under test, so a wrong source string in the verifier fails the tests.
 */
export function streamSignature(secret: string, time: number, body: string): string {
  return createHmac('sha256', secret).update(`${time}.${body}`).digest('hex');
}

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

type Err = Array<{ code: number; message: string }>;
const envelope = (result: unknown, errors: Err = []): Record<string, unknown> => ({
  result: errors.length ? null : result,
  success: errors.length === 0,
  errors,
  messages: [],
});

/** Mutable state shared by the route groups. */
class StubState {
  readonly accountId = randomBytes(16).toString('hex');
  readonly token = randomBytes(12).toString('hex');
  readonly videos = new Map<string, StubVideo>();
  readonly requests: string[] = [];
  limited = 0;
  retryAfter = 1;
  base = '';
  failWith: string | undefined;

  get api(): string {
    return `/client/v4/accounts/${this.accountId}/stream`;
  }

  newVideo(meta: Record<string, unknown>, requireSignedURLs: boolean, size: number): StubVideo {
    const v: StubVideo = {
      uid: randomBytes(16).toString('hex'),
      meta,
      requireSignedURLs,
      size,
      received: [],
      sha256: undefined,
      script: this.failWith ? ['queued', 'error'] : ['queued', 'inprogress', 'ready'],
      errorReasonCode: this.failWith ?? '',
    };
    this.videos.set(v.uid, v);
    return v;
  }

  videoJson(uid: string): Record<string, unknown> {
    const v = this.videos.get(uid)!;
    const state = v.script[0] ?? 'ready';
    const cdn = `https://customer-stub.cloudflarestream.com/${v.uid}`;
    return {
      uid: v.uid,
      meta: v.meta,
      requireSignedURLs: v.requireSignedURLs,
      size: v.size,
      readyToStream: state === 'ready',
      thumbnail: `${cdn}/thumbnails/thumbnail.jpg`,
      playback: { hls: `${cdn}/manifest/video.m3u8`, dash: `${cdn}/manifest/video.mpd` },
      status:
        state === 'error'
          ? { state, errReasonCode: v.errorReasonCode, errReasonText: 'stub failure' }
          : { state, pctComplete: state === 'ready' ? '100.000000' : '10.000000', errorReasonCode: '' },
    };
  }
}

/** Bearer auth on API routes (tus upload URLs carry none, as in Stream) and the scripted 429s. */
function registerGate(app: FastifyInstance, st: StubState): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    st.requests.push(`${req.method} ${req.url.split('?')[0]}`);
    if (req.url.startsWith('/tus/')) return;
    if (req.headers.authorization !== `Bearer ${st.token}`)
      return reply.code(403).send(envelope(null, [{ code: 10000, message: 'Authentication error' }]));
    if (st.limited > 0) {
      st.limited--;
      return reply
        .code(429)
        .header('retry-after', String(st.retryAfter))
        .send(envelope(null, [{ code: 971, message: 'Please wait and consider throttling your request speed' }]));
    }
  });
}

/** POST /copy downloads the URL like Stream does (HEAD, then GET); GET /{uid} advances the state script. */
function registerApiRoutes(app: FastifyInstance, st: StubState): void {
  app.post<{ Body: { url?: unknown; meta?: Record<string, unknown>; requireSignedURLs?: boolean } }>(
    `${st.api}/copy`,
    async (req, reply) => {
      const { url } = req.body ?? {};
      if (typeof url !== 'string' || !/^https?:\/\//.test(url))
        return reply.code(400).send(envelope(null, [{ code: 10005, message: 'Invalid URL' }]));
      const head = await fetch(url, { method: 'HEAD' }).catch(() => undefined);
      const got = head?.ok ? await fetch(url) : undefined;
      if (!got?.ok)
        return reply
          .code(400)
          .send(envelope(null, [{ code: 10005, message: `Could not fetch ${url}: ${got?.status ?? head?.status ?? 'network'}` }]));
      const body = Buffer.from(await got.arrayBuffer());
      const v = st.newVideo({ ...req.body.meta, 'downloaded-from': url }, req.body.requireSignedURLs === true, body.length);
      v.received.push(body);
      v.sha256 = createHash('sha256').update(body).digest('hex');
      return reply.send(envelope({ ...st.videoJson(v.uid), status: { state: 'downloading' } }));
    },
  );
  app.get<{ Params: { uid: string } }>(`${st.api}/:uid`, async (req, reply) => {
    const v = st.videos.get(req.params.uid);
    if (!v) return reply.code(404).send(envelope(null, [{ code: 10003, message: 'Not found' }]));
    const body = envelope(st.videoJson(v.uid));
    if (v.script.length > 1) v.script.shift();
    return reply.send(body);
  });
  // Stream answers a delete with 200 and an empty body.
  app.delete<{ Params: { uid: string } }>(`${st.api}/:uid`, async (req, reply) => {
    if (!st.videos.delete(req.params.uid)) return reply.code(404).send(envelope(null, [{ code: 10003, message: 'Not found' }]));
    return reply.code(200).send('');
  });
}

const offsetOf = (v: StubVideo): number => v.received.reduce((n, b) => n + b.length, 0);

/** tus 1.0.0 creation on POST /stream (uid in `stream-media-id`), then HEAD/PATCH on the returned Location. */
function registerTusRoutes(app: FastifyInstance, st: StubState): void {
  app.addContentTypeParser('application/offset+octet-stream', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
  app.post(st.api, async (req, reply) => {
    const len = Number(req.headers['upload-length']);
    if (req.headers['tus-resumable'] !== '1.0.0' || !Number.isInteger(len) || len <= 0)
      return reply.code(400).send(envelope(null, [{ code: 10005, message: 'Bad tus creation' }]));
    const meta: Record<string, unknown> = {};
    let signed = false;
    for (const pair of String(req.headers['upload-metadata'] ?? '')
      .split(',')
      .filter(Boolean)) {
      const [k, v] = pair.trim().split(' ');
      if (k === 'requiresignedurls') signed = true;
      else if (k) meta[k] = Buffer.from(v ?? '', 'base64').toString('utf8');
    }
    const v = st.newVideo(meta, signed, len);
    return reply
      .code(201)
      .header('tus-resumable', '1.0.0')
      .header('location', `${st.base}/tus/${v.uid}`)
      .header('stream-media-id', v.uid)
      .send();
  });
  app.head<{ Params: { uid: string } }>('/tus/:uid', async (req, reply) => {
    const v = st.videos.get(req.params.uid);
    if (!v) return reply.code(404).send();
    return reply
      .header('tus-resumable', '1.0.0')
      .header('upload-offset', String(offsetOf(v)))
      .header('upload-length', String(v.size))
      .header('cache-control', 'no-store')
      .send();
  });
  app.patch<{ Params: { uid: string }; Body: Buffer }>('/tus/:uid', async (req, reply) => {
    const v = st.videos.get(req.params.uid);
    if (!v) return reply.code(404).send();
    const off = offsetOf(v);
    if (Number(req.headers['upload-offset']) !== off) return reply.code(409).send();
    v.received.push(req.body);
    if (off + req.body.length === v.size) v.sha256 = createHash('sha256').update(Buffer.concat(v.received)).digest('hex');
    return reply
      .code(204)
      .header('tus-resumable', '1.0.0')
      .header('upload-offset', String(off + req.body.length))
      .send();
  });
}

/**
 * A local stand-in for the documented Cloudflare Stream API (v4 envelope, /copy, tus creation + PATCH, GET status,
 * signed webhooks) on 127.0.0.1 with a random port. /copy really downloads the URL it is given, so presigned archive
 * URLs are exercised end to end.
 */
export async function startStreamStub(): Promise<StreamStub> {
  const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
  const st = new StubState();
  registerGate(app, st);
  registerApiRoutes(app, st);
  registerTusRoutes(app, st);
  st.base = await app.listen({ host: '127.0.0.1', port: 0 });
  let closing: Promise<void> | undefined;
  return {
    apiBase: `${st.base}/client/v4`,
    accountId: st.accountId,
    token: st.token,
    videos: st.videos,
    requests: st.requests,
    get failWith() {
      return st.failWith;
    },
    set failWith(v) {
      st.failWith = v;
    },
    rateLimitNext: (n, sec) => {
      st.limited = n;
      st.retryAfter = sec;
    },
    videoJson: (uid) => st.videoJson(uid),
    sendWebhook: async (url, uid, secret, time) => {
      const body = JSON.stringify(st.videoJson(uid));
      const t = time ?? Math.floor(Date.now() / 1000);
      return fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-signature': `time=${t},sig1=${streamSignature(secret, t, body)}` },
        body,
      });
    },
    close: () => (closing ??= app.close()),
  };
}
