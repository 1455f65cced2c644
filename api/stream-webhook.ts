import type { FastifyInstance } from 'fastify';
import { verifyStreamWebhook } from '../storage/stream/webhook.ts';
import type { StreamVideo } from '../storage/stream/video.ts';

export interface StreamWebhookOptions {
  /** STREAM_WEBHOOK_SECRET (from PUT /accounts/{id}/stream/webhook). */
  readonly secret: string;
  /** Stores the verified update; returns the matching video id or undefined for an unknown uid. */
  readonly onVideo: (v: StreamVideo) => Promise<string | undefined>;
  /** Clock (ms since the epoch) of the replay check; default Date.now. */
  readonly now?: () => number;
  /** Route path; default /webhooks/stream. */
  readonly path?: string;
}

/**
 * Cloudflare Stream webhook receiver. Registered in its own plugin scope so the JSON body stays a raw string here
 * (the signature covers the exact bytes) without changing body parsing for the rest of the API. Failures answer
 * 401 with STREAM_WEBHOOK_INVALID / STREAM_WEBHOOK_STALE through the shared error handler.
 */
export async function registerStreamWebhook(app: FastifyInstance, o: StreamWebhookOptions): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => done(null, body));
    scope.post(o.path ?? '/webhooks/stream', async (req) => {
      const header = req.headers['webhook-signature'];
      const video = verifyStreamWebhook({
        header: Array.isArray(header) ? header[0] : header,
        rawBody: typeof req.body === 'string' ? req.body : '',
        secret: o.secret,
        now: o.now,
      });
      const videoId = await o.onVideo(video);
      req.log.info({ uid: video.uid, state: video.state, videoId }, 'stream webhook');
      return { ok: true, known: videoId !== undefined };
    });
  });
}
