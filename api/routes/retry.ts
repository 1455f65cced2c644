import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor } from '../../db/video-admin.ts';
import type { VideoRepository, VideoRow } from '../../db/videos.ts';
import { principalOf, requireRole } from '../auth.ts';
import { actorOf } from './videos.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import { videoDetail, VideoDetail } from './video-view.ts';

/** Re-queues a failed video (pipeline/retry.ts); throws API_RETRY_* when it cannot. */
export type RetryVideo = (videoId: string, actor: Actor, notes: string | null) => Promise<VideoRow>;

export interface RetryRoutesOptions {
  readonly videos: VideoRepository;
  readonly retry: RetryVideo;
}

/**
 * `POST /api/videos/:id/retry`, for moderators and admins only. Not for the owner: a failure that repeats (a source
 * that crashes every worker) would let any uploader keep the workers busy in a loop, and a cancel by staff must not be
 * undone by the uploader. Owners see the failure on the upload page and ask support, or upload again.
 */
export function registerRetryRoutes(app: FastifyInstance, o: RetryRoutesOptions): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/videos/:id/retry',
    {
      preHandler: requireRole('moderator'),
      schema: {
        tags: ['videos'],
        summary: 'Queue a failed video again (audited); rejected and infected videos are verdicts and cannot be retried',
        params: z.object({ id: z.uuid() }),
        body: z.object({ notes: z.string().trim().max(2000).optional() }).nullish(),
        security: security('bearer'),
        response: {
          200: VideoDetail,
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_NOT_FOUND', 'API_RETRY_NOT_FAILED', 'API_RETRY_SOURCE_MISSING'),
        },
      },
    },
    async (req) => {
      const v = await o.retry(req.params.id, actorOf(principalOf(req), req.id), req.body?.notes || null);
      req.log.info({ videoId: v.id }, 'failed video queued again');
      return videoDetail(v, await o.videos.renditions(v.id), null);
    },
  );
}
