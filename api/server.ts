import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger as PinoLogger } from 'pino';
import { PipelineError } from '../core/errors.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import type { CaptionRepository } from '../db/captions.ts';
import type { VideoAdminRepository } from '../db/video-admin.ts';
import type { VideoRepository } from '../db/videos.ts';
import type { TusIngest } from '../ingest/tus.ts';
import type { DownloadBuilder } from '../pipeline/download.ts';
import type { UploadTokens } from '../ingest/upload-token.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { registerAnalyticsRoutes, type AnalyticsRoutesOptions } from './analytics/routes.ts';
import type { AnalyticsSessions } from './analytics/session-token.ts';
import { authenticate, type TokenVerifier } from './auth.ts';
import { registerApiCors } from './cors.ts';
import { installErrorHandler } from './errors.ts';
import { withLogRedaction } from './log-redaction.ts';
import { SECURITY_SCHEMES } from './openapi.ts';
import { AccessStateCache } from './playback/access-cache.ts';
import { playbackPlugin } from './playback/routes.ts';
import type { PlaybackSigner } from './playback/signing.ts';
import { captionsPlugin } from './routes/captions.ts';
import { registerDownloadRoutes } from './routes/downloads.ts';
import { registerHealthRoutes, type ReadinessCheck } from './routes/health.ts';
import { registerPersonalDataRoutes, type PersonalDataRoutesOptions } from './routes/me.ts';
import { registerModerationRoutes } from './routes/moderation.ts';
import { registerRetryRoutes, type RetryVideo } from './routes/retry.ts';
import { registerVideoRoutes, type LocalVideoFiles, type StreamCopies, type VideoArchive } from './routes/videos.ts';
import { registerSignedObjectRoutes, type SignedObjectRoutesOptions } from './object-routes.ts';
import { registerStaticRoutes } from './static-routes.ts';
import { registerStreamWebhook, type StreamWebhookOptions } from './stream-webhook.ts';
import type { UploadRateLimit } from './upload-rate-limit.ts';
import { registerUploadRoutes } from './upload-routes.ts';
import { registerUploadTokenRoutes } from './upload-token-routes.ts';
import { webhookDocs } from './webhooks/event-schemas.ts';

export interface ApiOptions {
  readonly logger: PinoLogger;
  readonly videos: VideoRepository;
  readonly admin: VideoAdminRepository;
  readonly storage: ObjectStorage;
  readonly tus: TusIngest;
  /** Issues the short-lived tokens tus creation requires. */
  readonly uploadTokens: UploadTokens;
  /** URL path of the tus endpoint; default /uploads. */
  readonly uploadPath?: string;
  readonly playerDir: string;
  /** Verifies bearer access tokens (JWT). */
  readonly verifier: TokenVerifier;
  /** Signs and checks playback URLs. */
  readonly signer: PlaybackSigner;
  /**
   * How long each API process reuses a video's access state for /hls requests, in ms (PLAYBACK_ACCESS_CACHE_MS);
   * default 2000. Bounds how long a revoked URL keeps working on processes that did not handle the revocation.
   */
  readonly playbackAccessCacheMs?: number;
  /** Clock of the playback access cache and the moderation undo window in ms (tests move it); default Date.now. */
  readonly now?: () => number;
  /** How long a moderator may undo a decision, in ms; default 10 000. */
  readonly undoWindowMs?: number;
  readonly metrics: PipelineMetrics;
  /** What /readyz checks; default none (always ready). */
  readonly readiness?: readonly ReadinessCheck[];
  /** How long /readyz reuses one result before the checks run again, in ms; default 5000. */
  readonly readinessCacheMs?: number;
  /** Origins allowed to embed the player and call the API from a browser (CORS, see api/cors.ts); default none. */
  readonly corsOrigins?: readonly string[];
  /** Requests per window per client IP; default 300 per 60 s. The upload routes have their own budgets (uploadRateLimit). */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  /** Budgets of tus requests per upload URL and of creations and upload tokens per uploader; default see UploadRateLimit. */
  readonly uploadRateLimit?: UploadRateLimit;
  /** Trust X-Forwarded-For (behind a reverse proxy); default false. */
  readonly trustProxy?: boolean;
  /** Re-queues failed videos (POST /api/videos/:id/retry); default none (the route is absent). */
  readonly retryVideo?: RetryVideo;
  /** Removes a deleted video's local files (upload, master, work dirs); default none. */
  readonly files?: LocalVideoFiles;
  readonly archive?: VideoArchive;
  readonly cancelJob?: (videoId: string) => Promise<void>;
  /** Cloudflare Stream copies, deleted with their video; default none. */
  readonly stream?: StreamCopies;
  /** Export and erasure of a user's data (/api/me, /api/admin/users); default none (the routes are absent). */
  readonly personalData?: PersonalDataRoutesOptions;
  /** Cloudflare Stream webhook receiver (POST /webhooks/stream); absent unless a webhook secret is configured. */
  readonly streamWebhook?: StreamWebhookOptions;
  /** Caption tracks (upload, moderation, subtitle renditions in played masters); default none (no caption routes). */
  readonly captions?: CaptionRepository;
  /** Builds and caches progressive MP4 downloads; default none (no download route). */
  readonly downloads?: DownloadBuilder;
  /** Viewers of approved videos may download too (DOWNLOADS_FOR_VIEWERS); default false. */
  readonly viewerDownloads?: boolean;
  /** Local stores served through presigned URLs (a local archive handing Stream a URL); default none. */
  readonly signedObjects?: readonly SignedObjectRoutesOptions[];
  /** Viewing analytics: beacon intake, owner and staff reads, sessions issued with public playback; default off. */
  readonly analytics?: Omit<AnalyticsRoutesOptions, 'videos'> & { readonly sessions: AnalyticsSessions };
}

/** One route as registered (onRoute), documented or hidden from the OpenAPI document. */
export interface RegisteredRoute {
  readonly methods: readonly string[];
  readonly url: string;
  readonly hidden: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app, in registration order (fastify's own HEAD twins excluded). */
    readonly registeredRoutes: readonly RegisteredRoute[];
  }
}

/**
 * CSP for the pages and player: scripts only from this origin (hls.js and tus-js-client are served from /vendor),
 * media and hls.js's worker from blob: (MSE source buffers and the transmuxer worker are blob URLs). media-src also
 * allows data: because hls.js gives each subtitle track an empty `<track src="data:,WEBVTT">` (it adds the cues
 * itself); a data: URL holds only the bytes written into it, so it can load nothing from elsewhere.
 */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  workerSrc: ["'self'", 'blob:'],
  mediaSrc: ["'self'", 'blob:', 'data:'],
  imgSrc: ["'self'", 'data:', 'blob:'],
  connectSrc: ["'self'"],
  styleSrc: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'self'"],
};

async function registerPlatformPlugins(app: FastifyInstance, o: ApiOptions): Promise<void> {
  const embedders = o.corsOrigins ?? [];
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { ...CSP_DIRECTIVES, frameAncestors: ["'self'", ...embedders] } },
    // X-Frame-Options cannot list origins; with embedders configured, CSP frame-ancestors alone decides (CSP3 §6.4.2).
    xFrameOptions: embedders.length ? false : { action: 'sameorigin' },
  });
  await app.register(rateLimit, {
    max: o.rateLimit?.max ?? 300,
    timeWindow: o.rateLimit?.windowMs ?? 60_000,
    errorResponseBuilder: (_req, ctx) => new PipelineError('API_RATE_LIMITED', `Limit ${ctx.max} per ${ctx.after}.`, { max: ctx.max }),
  });
  await app.register(swagger, {
    openapi: {
      // 3.1 for `webhooks`; every route states its own `security` (api/openapi.ts), there is no default.
      openapi: '3.1.0',
      info: {
        title: 'kidstream API',
        version: '1.0.0',
        description:
          'Moderation, signed HLS playback and ops. Uploads use the tus 1.0 protocol at /uploads (not described here): the ' +
          '201 of the creation carries the video id in Video-Id. Errors are {error: {code, message}}; match on code.',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
      webhooks: webhookDocs(),
    },
    transform: jsonSchemaTransform,
  });
}

/** Builds the HTTP app; the caller listens and closes it. */
export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  // pino's Logger is a FastifyBaseLogger; the cast keeps routes typed against the default logger type. Every request
  // line goes through the redacting serializer, whatever logger the caller passed.
  const app: FastifyInstance = Fastify({
    loggerInstance: withLogRedaction(o.logger) as FastifyBaseLogger,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    trustProxy: o.trustProxy ?? false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  app.decorateRequest('principal', undefined);
  await registerPlatformPlugins(app, o);
  // Auth runs before validation so `?access_token=` is read before a route's query schema strips unknown keys.
  app.addHook('onRequest', authenticate(o.verifier));
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    o.metrics.httpResponses.inc({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  // The tus endpoint speaks its own protocol and the pages are HTML: routes without a schema stay out of the document.
  // Every route is listed, so the OpenAPI contract test can tell a deliberately hidden route from a forgotten one.
  const routes: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (route) => {
    if (!route.schema) route.schema = { hide: true };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ methods: methods.map(String), url: route.url, hidden: route.schema.hide === true });
  });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());
  registerHealthRoutes(app, { checks: o.readiness ?? [], metrics: o.metrics, cacheMs: o.readinessCacheMs });
  registerUploadRoutes(app, { tus: o.tus, tokens: o.uploadTokens, mountPath: o.uploadPath ?? '/uploads', rateLimit: o.uploadRateLimit });
  // One cache per process, shared by the routes that change access (so they can drop an entry) and /hls that reads it.
  const access = new AccessStateCache({ load: (id) => o.videos.accessState(id), ttlMs: o.playbackAccessCacheMs, now: o.now });
  await app.register(async (browserApi) => {
    await registerApiCors(browserApi, o.corsOrigins ?? []);
    registerUploadTokenRoutes(browserApi, { tokens: o.uploadTokens, rateLimit: o.uploadRateLimit });
    const analyticsSessions = o.analytics?.sessions;
    registerVideoRoutes(browserApi, { ...o, access, analyticsSessions });
    registerModerationRoutes(browserApi, { ...o, access, analyticsSessions });
    if (o.personalData) registerPersonalDataRoutes(browserApi, o.personalData);
    if (o.retryVideo) registerRetryRoutes(browserApi, { videos: o.videos, retry: o.retryVideo });
    if (o.captions) await browserApi.register(captionsPlugin, { videos: o.videos, captions: o.captions });
    if (o.downloads)
      registerDownloadRoutes(browserApi, { videos: o.videos, signer: o.signer, builder: o.downloads, viewerDownloads: o.viewerDownloads });
    await browserApi.register(playbackPlugin, {
      videos: o.videos,
      storage: o.storage,
      signer: o.signer,
      access,
      captions: o.captions,
      viewerDownloads: o.viewerDownloads,
      analyticsSessions: o.analytics?.sessions,
    });
    if (o.analytics) registerAnalyticsRoutes(browserApi, { ...o.analytics, videos: o.videos });
  });
  registerStaticRoutes(app, { playerDir: o.playerDir });
  if (o.streamWebhook) await registerStreamWebhook(app, o.streamWebhook);
  for (const so of o.signedObjects ?? []) registerSignedObjectRoutes(app, so);
  await app.ready();
  return app;
}
