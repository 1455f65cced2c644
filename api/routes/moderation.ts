import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import type { VideoAdminRepository } from '../../db/video-admin.ts';
import type { VideoRepository } from '../../db/videos.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { principalOf, requireRole } from '../auth.ts';
import type { AccessStateCache } from '../playback/access-cache.ts';
import { issuePlayback } from '../playback/issue.ts';
import type { PlaybackSigner } from '../playback/signing.ts';
import { decodeCursor, encodeCursor, PageQuery } from './cursor.ts';
import { actorOf } from './videos.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import { videoDetail, VideoDetail, VideoSummary, videoSummary } from './video-view.ts';

export interface ModerationRoutesOptions {
  readonly videos: VideoRepository;
  readonly admin: VideoAdminRepository;
  readonly storage: ObjectStorage;
  readonly signer: PlaybackSigner;
  /** Playback access cache; a decision is dropped from it so this process applies it to /hls at once. */
  readonly access: AccessStateCache; /** Issues analytics sessions with the public playback of a video's details; default none. */
  readonly analyticsSessions?: { issue(videoId: string): string };
}

const IdParams = z.object({ id: z.uuid() });
const AuditEntry = z.object({
  id: z.number(),
  action: z.enum(['approved', 'rejected', 'edited', 'deleted', 'retried']),
  actor: z.string(),
  actorRole: z.string(),
  notes: z.string().nullable(),
  fromStatus: z.string().nullable(),
  toStatus: z.string().nullable(),
  requestId: z.string().nullable(),
  at: z.iso.datetime(),
});

export function registerModerationRoutes(app: FastifyInstance, o: ModerationRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const staff = requireRole('moderator');

  r.get(
    '/api/moderation/queue',
    {
      preHandler: staff,
      schema: {
        tags: ['moderation'],
        summary: 'Videos to review (pending; ready, or previewable while transcoding), oldest first',
        querystring: PageQuery,
        security: security('bearer'),
        response: {
          200: z.object({ items: z.array(VideoSummary), nextCursor: z.string().nullable() }),
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN'),
        },
      },
    },
    async (req) => {
      const { limit, cursor } = req.query;
      const rows = await o.admin.list({
        reviewable: true,
        moderation: 'pending',
        oldestFirst: true,
        limit: limit + 1,
        after: decodeCursor(cursor),
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: page.map(videoSummary), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    r.post(
      `/api/moderation/videos/:id/${decision}`,
      {
        preHandler: staff,
        schema: {
          tags: ['moderation'],
          summary:
            decision === 'approve' ? 'Approve a ready video (audited)' : 'Reject a video, also while it is still processing (audited)',
          params: IdParams,
          body: z.object({
            notes: decision === 'reject' ? z.string().trim().min(1).max(2000) : z.string().trim().max(2000).optional(),
          }),
          security: security('bearer'),
          response: { 200: VideoDetail, ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_NOT_FOUND', 'MODERATION_NOT_READY') },
        },
      },
      async (req) => {
        const status = decision === 'approve' ? 'approved' : 'rejected';
        const p = principalOf(req);
        const res = await o.admin.moderate(req.params.id, status, req.body.notes || null, actorOf(p, req.id));
        if (!res) throw new PipelineError('API_NOT_FOUND', `No video ${req.params.id}.`);
        if (res.notReady) throw new PipelineError('MODERATION_NOT_READY', `Video is ${res.video.status}.`, { status: res.video.status });
        // The video.approved / video.rejected event was stored with the decision; the outbox relay delivers it.
        o.access.invalidate(res.video.id);
        const v = res.video;
        return videoDetail(v, await o.videos.renditions(v.id), issuePlayback(o, v, p));
      },
    );
  }

  r.get(
    '/api/moderation/videos/:id/audit',
    {
      preHandler: staff,
      schema: {
        tags: ['moderation'],
        summary: 'Append-only audit log of a video',
        params: IdParams,
        security: security('bearer'),
        response: { 200: z.object({ items: z.array(AuditEntry) }), ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN') },
      },
    },
    async (req) => {
      const rows = await o.admin.auditLog(req.params.id);
      return {
        items: rows.map((a) => ({
          id: Number(a.id),
          action: a.action,
          actor: a.actor,
          actorRole: a.actor_role,
          notes: a.notes,
          fromStatus: a.from_status,
          toStatus: a.to_status,
          requestId: a.request_id,
          at: a.created_at.toISOString(),
        })),
      };
    },
  );
}
