import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Server as TusServer } from '@tus/server';
import type { Logger as PinoLogger } from 'pino';
import type { VideoRepository } from '../db/videos.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { installErrorHandler } from './errors.ts';
import { registerHlsRoutes } from './hls-routes.ts';
import { registerSignedObjectRoutes, type SignedObjectRoutesOptions } from './object-routes.ts';
import { registerStaticRoutes } from './static-routes.ts';
import { registerStreamWebhook, type StreamWebhookOptions } from './stream-webhook.ts';
import { registerUploadRoutes } from './upload-routes.ts';
import { registerVideoRoutes } from './video-routes.ts';

export interface ApiOptions {
  readonly logger: PinoLogger;
  readonly videos: VideoRepository;
  readonly storage: ObjectStorage;
  readonly tus: TusServer;
  /** URL path of the tus endpoint; default /uploads. */
  readonly uploadPath?: string;
  readonly playerDir: string;
  /** Cloudflare Stream webhook receiver (POST /webhooks/stream); absent unless a webhook secret is configured. */
  readonly streamWebhook?: StreamWebhookOptions;
  /** Local stores served through presigned URLs (a local archive handing Stream a URL); default none. */
  readonly signedObjects?: readonly SignedObjectRoutesOptions[];
}

/** Builds the HTTP app; the caller listens and closes it. */
export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  // pino's Logger is a FastifyBaseLogger; the cast keeps routes typed against the default logger type.
  const app: FastifyInstance = Fastify({ loggerInstance: o.logger as FastifyBaseLogger, requestIdHeader: 'x-request-id' });
  installErrorHandler(app);
  app.get('/healthz', async () => ({ ok: true }));
  registerUploadRoutes(app, o.tus, o.uploadPath ?? '/uploads');
  registerVideoRoutes(app, { videos: o.videos });
  registerHlsRoutes(app, { storage: o.storage });
  registerStaticRoutes(app, { playerDir: o.playerDir });
  if (o.streamWebhook) await registerStreamWebhook(app, o.streamWebhook);
  for (const so of o.signedObjects ?? []) registerSignedObjectRoutes(app, so);
  await app.ready();
  return app;
}
