import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { VideoAdminRepository } from '../../db/video-admin.ts';
import type { VideoRepository } from '../../db/videos.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { requireRole } from '../auth.ts';
import type { AccessStateCache } from '../playback/access-cache.ts';
import type { PlaybackSigner } from '../playback/signing.ts';
import { decodeCursor, encodeCursor, PageQuery } from './cursor.ts';
import { registerDecisionRoutes } from './moderation-decisions.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import { VideoSummary, videoSummary } from './video-view.ts';

export interface ModerationRoutesOptions {
  readonly videos: VideoRepository;
  readonly admin: VideoAdminRepository;
  readonly storage: ObjectStorage;
  readonly signer: PlaybackSigner;
  /** Playback access cache; a decision is dropped from it so this process applies it to /hls at once. */
  readonly access: AccessStateCache;
  /** How long a moderator may undo a decision, in ms; default DEFAULT_UNDO_WINDOW_MS (10 s). */
  readonly undoWindowMs?: number;
  /** Clock in ms for the undo window; default Date.now. */
  readonly now?: () => number;
  /** Issues analytics sessions with the public playback of a video's details; default none. */
  readonly analyticsSessions?: { issue(videoId: string): string };
}

/** Queue filters, as query parameters of GET /api/moderation/queue. */
const QueueQuery = PageQuery.extend({
  status: z.enum(['processing', 'ready']).optional().describe('processing = previewable while transcoding; default both'),
  uploader: z.string().min(1).max(200).optional().describe('Only this uploader id'),
  order: z.enum(['oldest', 'newest']).default('oldest').describe('By upload time; the cursor follows the same order'),
  q: z.string().trim().min(1).max(200).optional().describe('Only titles containing this text (case-insensitive, no wildcards)'),
});

const IdParams = z.object({ id: z.uuid() });
const AuditEntry = z.object({
  id: z.number(),
  action: z.enum(['approved', 'rejected', 'edited', 'deleted', 'retried', 'undone', 'caption_approved', 'caption_rejected']),
  captionLang: z.string().nullable().describe('The caption judged, on caption_approved / caption_rejected'),
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
        summary: 'Videos to review (pending; ready, or previewable while transcoding), oldest first unless order=newest',
        querystring: QueueQuery,
        security: security('bearer'),
        response: {
          200: z.object({ items: z.array(VideoSummary), nextCursor: z.string().nullable() }),
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN'),
        },
      },
    },
    async (req) => {
      const { limit, cursor, status, uploader, order, q } = req.query;
      const rows = await o.admin.list({
        reviewable: true,
        moderation: 'pending',
        status,
        uploaderId: uploader,
        titleContains: q,
        oldestFirst: order === 'oldest',
        limit: limit + 1,
        after: decodeCursor(cursor),
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: page.map(videoSummary), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    },
  );

  registerDecisionRoutes(app, o);

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
          captionLang: a.caption_lang,
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
