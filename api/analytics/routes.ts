import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import type { VideoRepository } from '../../db/videos.ts';
import { principalOf, requireRole } from '../auth.ts';
import { BEARER_ERRORS, COMMON_ERRORS, errorResponses, security } from '../openapi.ts';
import { visibleVideo } from '../routes/videos.ts';
import { BeaconBody, BODY_LIMIT } from './beacon.ts';
import type { Analytics } from './service.ts';
import { AnalyticsSummary, summarize } from './summary.ts';
import type { DayRollup } from '../../db/analytics.ts';

export interface AnalyticsRoutesOptions {
  readonly analytics: Analytics;
  readonly videos: VideoRepository;
  /** Video ids an uploader owns (for their list). */
  readonly ownedVideoIds: (uploaderId: string) => Promise<string[]>;
  /** Beacons per client IP per window, on top of the per-session budget (ANALYTICS_IP_RATE_MAX). */
  readonly ipRate: { readonly max: number; readonly windowMs: number };
}

const Days = z.object({ days: z.coerce.number().int().min(1).max(90).default(30).describe('Last N UTC days, today included') });
const DayRow = AnalyticsSummary.extend({ day: z.string() });
const byDay = (rows: readonly DayRollup[]): Array<z.infer<typeof DayRow>> => {
  const days = new Map<string, DayRollup[]>();
  for (const r of rows) days.set(r.day, [...(days.get(r.day) ?? []), r]);
  return [...days].sort(([a], [b]) => a.localeCompare(b)).map(([day, rs]) => ({ day, ...summarize(rs) }));
};

/** Views, watch time and sessions per video, for lists. */
function perVideo(rows: readonly DayRollup[]): Array<{ videoId: string; views: number; watchTimeSec: number; sessions: number }> {
  const per = new Map<string, DayRollup[]>();
  for (const row of rows) per.set(row.videoId, [...(per.get(row.videoId) ?? []), row]);
  return [...per].map(([videoId, rs]) => {
    const s = summarize(rs);
    return { videoId, views: s.views, watchTimeSec: s.watchTimeSec, sessions: s.sessions };
  });
}

/** The beacon endpoint (signed by the playback's analytics session, no account) and the owner and staff reads. */
export function registerAnalyticsRoutes(app: FastifyInstance, o: AnalyticsRoutesOptions): void {
  registerBeaconRoute(app, o);
  registerReadRoutes(app, o);
  // Beacons are answered before they are stored: the ones still queued go to the database before it closes.
  app.addHook('onClose', () => o.analytics.flush());
}

function registerBeaconRoute(app: FastifyInstance, o: AnalyticsRoutesOptions): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/analytics/beacons',
    {
      schema: {
        tags: ['analytics'],
        summary:
          'Player beacons (start, heartbeat, seek, quality, stall, error, end) of one playback session; the analyticsSession of the playback answer is the credential',
        body: BeaconBody,
        security: security('public'),
        response: {
          204: z.null().describe('Stored'),
          ...errorResponses(
            ...COMMON_ERRORS,
            'API_BAD_REQUEST',
            'ANALYTICS_SESSION_INVALID',
            'ANALYTICS_SESSION_EXPIRED',
            'ANALYTICS_BATCH_TOO_LARGE',
            'ANALYTICS_RATE_LIMITED',
          ),
        },
      },
      bodyLimit: BODY_LIMIT,
      // Hundreds a second at peak: the request lines would flood the log (and carry client IPs, which we keep out of
      // anything stored about children's viewing).
      logLevel: 'warn',
      config: { rateLimit: { max: o.ipRate.max, timeWindow: o.ipRate.windowMs } },
      onRequest: async (req) => {
        // Refused before the body is read; a chunked body without a length still stops at bodyLimit (413).
        const len = Number(req.headers['content-length'] ?? 0);
        if (len > BODY_LIMIT) throw new PipelineError('ANALYTICS_BATCH_TOO_LARGE', `Beacon of ${len} bytes.`, { bytes: len });
      },
    },
    async (req, reply) => {
      await o.analytics.ingest(req.body);
      return reply.status(204).send(null);
    },
  );
}

function registerReadRoutes(app: FastifyInstance, o: AnalyticsRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/analytics/videos/:id',
    {
      preHandler: requireRole('uploader', 'moderator'),
      schema: {
        tags: ['analytics'],
        summary: "One video's viewing and quality-of-experience numbers per day and in total (its uploader and staff)",
        params: z.object({ id: z.uuid() }),
        querystring: Days,
        security: security('bearer'),
        response: {
          200: z.object({ videoId: z.uuid(), total: AnalyticsSummary, days: z.array(DayRow) }),
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_NOT_FOUND', 'API_VIDEO_UPLOADING'),
        },
      },
    },
    async (req) => {
      const v = await visibleVideo(o.videos, principalOf(req), req.params.id);
      const rows = await o.analytics.rows([v.id], req.query.days);
      return { videoId: v.id, total: summarize(rows), days: byDay(rows) };
    },
  );

  r.get(
    '/api/analytics/my-videos',
    {
      preHandler: requireRole('uploader'),
      schema: {
        tags: ['analytics'],
        summary: "Views and watch time of each of the caller's videos that has any",
        querystring: Days,
        security: security('bearer'),
        response: {
          200: z.object({
            items: z.array(z.object({ videoId: z.uuid(), views: z.number(), watchTimeSec: z.number(), sessions: z.number() })),
          }),
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN'),
        },
      },
    },
    async (req) => {
      const rows = await o.analytics.rows(await o.ownedVideoIds(principalOf(req).id), req.query.days);
      return { items: perVideo(rows) };
    },
  );

  r.get(
    '/api/analytics/totals',
    {
      preHandler: requireRole('moderator'),
      schema: {
        tags: ['analytics'],
        summary: 'Platform totals per day and overall (moderators and admins)',
        querystring: Days,
        security: security('bearer'),
        response: {
          200: z.object({ videos: z.number().describe('Videos with any sessions'), total: AnalyticsSummary, days: z.array(DayRow) }),
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN'),
        },
      },
    },
    async (req) => {
      const rows = await o.analytics.rows(undefined, req.query.days);
      return { videos: new Set(rows.map((x) => x.videoId)).size, total: summarize(rows), days: byDay(rows) };
    },
  );
}
