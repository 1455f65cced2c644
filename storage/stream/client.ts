import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Upload } from 'tus-js-client';
import { isPipelineError, PipelineError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { EnvelopeSchema, parseStreamVideo, type StreamVideo } from './video.ts';

export interface StreamClientOptions {
  readonly accountId: string;
  readonly apiToken: string;
  /** API root; default https://api.cloudflare.com/client/v4 (tests point it at the stub). */
  readonly apiBase?: string;
  /** Retries after a 429, a 5xx or a network error; default 4. */
  readonly maxRetries?: number;
  /** First backoff delay, doubled per retry, when there is no Retry-After; default 1000 ms. */
  readonly baseDelayMs?: number;
  /** Longest Retry-After we honour; default 60 000 ms. */
  readonly maxDelayMs?: number;
  /** tus chunk size: ≥ 5 MiB and a multiple of 256 KiB (Stream's rule); default 50 MiB. */
  readonly tusChunkSize?: number;
  readonly logger: Logger;
  /** Injected for tests; default node:timers/promises setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface CopyOptions {
  /** URL Stream fetches (HEAD + ranged GET): a presigned GET of the archived master. */
  readonly url: string;
  readonly name: string;
  readonly requireSignedURLs: boolean;
  readonly meta?: Readonly<Record<string, string>>;
}

const CHUNK_UNIT = 256 * 1024;

/** Parses Retry-After (delta-seconds or HTTP date) into ms. */
function retryAfterMs(h: string | null, now: number): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Cloudflare Stream API client: copy-from-URL, tus upload, status polling. Every call unwraps the v4 envelope. */
export class StreamClient {
  private readonly base: string;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: StreamClientOptions) {
    this.base = `${(o.apiBase ?? 'https://api.cloudflare.com/client/v4').replace(/\/$/, '')}/accounts/${encodeURIComponent(o.accountId)}/stream`;
    this.sleep = o.sleep ?? ((ms) => delay(ms));
  }

  /** One API call with retries on 429 (honouring Retry-After) and 5xx; 4xx and `success: false` fail at once. */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const retries = this.o.maxRetries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      let netErr: unknown;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.o.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        netErr = err;
      }
      const retryable = !res || res.status === 429 || res.status >= 500;
      if (retryable && attempt < retries) {
        const backoff = (this.o.baseDelayMs ?? 1000) * 2 ** attempt;
        const wait = Math.min(this.o.maxDelayMs ?? 60_000, retryAfterMs(res?.headers.get('retry-after') ?? null, Date.now()) ?? backoff);
        this.o.logger.warn({ method, path, status: res?.status, attempt, waitMs: wait }, 'stream API retry');
        await res?.body?.cancel();
        await this.sleep(wait);
        continue;
      }
      if (!res) throw new PipelineError('STREAM_API_ERROR', `${method} ${path}: network error.`, { method, path }, { cause: netErr });
      return this.unwrap(method, path, res);
    }
  }

  private async unwrap(method: string, path: string, res: Response): Promise<unknown> {
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const env = EnvelopeSchema.safeParse(json);
    const errors = env.success ? env.data.errors : [];
    if (res.status === 429) {
      throw new PipelineError('STREAM_RATE_LIMITED', `${method} ${path} still rate limited.`, { method, path, status: 429, errors });
    }
    if (!res.ok || !env.success || !env.data.success) {
      throw new PipelineError('STREAM_API_ERROR', `${method} ${path} → HTTP ${res.status}.`, { method, path, status: res.status, errors });
    }
    return env.data.result;
  }

  private video(method: string, path: string, raw: unknown): StreamVideo {
    const v = parseStreamVideo(raw);
    if (!v) throw new PipelineError('STREAM_API_ERROR', `${method} ${path}: result is not a video object.`, { method, path });
    return v;
  }

  /** POST /stream/copy: Stream downloads the file itself from `url`. */
  async copyFromUrl(c: CopyOptions): Promise<StreamVideo> {
    const raw = await this.call('POST', '/copy', { url: c.url, meta: { name: c.name, ...c.meta }, requireSignedURLs: c.requireSignedURLs });
    return this.video('POST', '/copy', raw);
  }

  async get(uid: string): Promise<StreamVideo> {
    const path = `/${encodeURIComponent(uid)}`;
    return this.video('GET', path, await this.call('GET', path));
  }

  /**
   * Deletes a video from Stream. Stream answers a delete with 200 and an empty body (no v4 envelope), and a video
   * already gone with 404: both mean the copy no longer exists.
   */
  async delete(uid: string): Promise<void> {
    const path = `/${encodeURIComponent(uid)}`;
    try {
      await this.call('DELETE', path);
    } catch (err) {
      const status = isPipelineError(err, 'STREAM_API_ERROR') ? err.context['status'] : undefined;
      if (status !== 200 && status !== 404) throw err;
    }
  }

  /**
   * tus upload of a local file (for masters with no public URL). Returns the uid from the `stream-media-id` header
   * of the creation response.
   */
  async uploadFile(p: { path: string; name: string; requireSignedURLs: boolean }): Promise<string> {
    const size = (await stat(p.path)).size;
    const chunk = Math.max(20 * CHUNK_UNIT, Math.floor((this.o.tusChunkSize ?? 200 * CHUNK_UNIT) / CHUNK_UNIT) * CHUNK_UNIT);
    let uid: string | undefined;
    await new Promise<void>((resolve, reject) => {
      const meta: Record<string, string> = { name: p.name };
      if (p.requireSignedURLs) meta['requiresignedurls'] = 'true';
      // tus-js-client's d.ts names only browser inputs; in Node an fs.ReadStream with a path is its seekable file source.
      const file = createReadStream(p.path) as unknown as Buffer;
      const upload = new Upload(file, {
        endpoint: this.base,
        uploadSize: size,
        chunkSize: chunk,
        metadata: meta,
        headers: { authorization: `Bearer ${this.o.apiToken}` },
        retryDelays: [0, 1000, 3000],
        // tus-js-client's default gives up on every 4xx; 429 (and tus' 409/423) are worth another try.
        onShouldRetry: (err) => {
          const s = err.originalResponse?.getStatus() ?? 0;
          return s === 0 || s === 409 || s === 423 || s === 429 || s >= 500;
        },
        onAfterResponse: (_req, res) => {
          uid ??= res.getHeader('stream-media-id') || undefined;
        },
        onError: (err) =>
          reject(new PipelineError('STREAM_API_ERROR', `tus upload failed: ${err.message}`, { path: p.path }, { cause: err })),
        onSuccess: () => resolve(),
      });
      upload.start();
    });
    if (!uid) throw new PipelineError('STREAM_API_ERROR', 'tus creation response had no stream-media-id header.', { path: p.path });
    return uid;
  }

  /** Polls GET /stream/{uid} until ready; STREAM_VIDEO_FAILED on state error, STREAM_TIMEOUT after `timeoutMs`. */
  async waitUntilReady(uid: string, w: { intervalMs?: number; timeoutMs?: number } = {}): Promise<StreamVideo> {
    const deadline = Date.now() + (w.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const v = await this.get(uid);
      if (v.state === 'ready' && v.readyToStream) return v;
      if (v.state === 'error') {
        throw new PipelineError('STREAM_VIDEO_FAILED', `Stream video ${uid} failed: ${v.errorReasonCode ?? 'unknown'}.`, {
          uid,
          errorReasonCode: v.errorReasonCode,
          errorReasonText: v.errorReasonText,
        });
      }
      if (Date.now() > deadline)
        throw new PipelineError('STREAM_TIMEOUT', `Stream video ${uid} still ${v.state}.`, { uid, state: v.state });
      await this.sleep(w.intervalMs ?? 5000);
    }
  }
}
