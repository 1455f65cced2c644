import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ERROR_DEFINITIONS, PipelineError, type ErrorCode } from '../../core/errors.ts';
import { MODERATION_STATUSES } from '../../core/types.ts';
import type { Actor, UndoRefusal } from '../../db/video-admin.ts';
import type { VideoRow } from '../../db/videos.ts';
import { principalOf, requireRole } from '../auth.ts';
import { issuePlayback } from '../playback/issue.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import type { ModerationRoutesOptions } from './moderation.ts';
import { actorOf } from './videos.ts';
import { videoDetail, VideoDetail } from './video-view.ts';

/**
 * How long a moderator may take a decision back. Undo is for the misclick noticed at once (the page shows "Undo"
 * this long), not a second review: a longer window would let an approval stand for viewers and then vanish.
 */
export const DEFAULT_UNDO_WINDOW_MS = 10_000;

const IdParams = z.object({ id: z.uuid() });
const Notes = z.string().trim().max(2000);
const UndoUntil = z.iso.datetime().describe('Until when POST /api/moderation/videos/{id}/undo takes this decision back');
const Decided = VideoDetail.extend({ undoUntil: UndoUntil });

/** Per-id failures of a bulk decision: the others still go through. */
const BULK_ITEM_CODES = ['API_NOT_FOUND', 'MODERATION_NOT_READY'] as const satisfies readonly ErrorCode[];
const BulkItem = z.discriminatedUnion('ok', [
  z.object({ id: z.uuid(), ok: z.literal(true), moderationStatus: z.enum(MODERATION_STATUSES), undoUntil: UndoUntil }),
  z.object({
    id: z.uuid(),
    ok: z.literal(false),
    error: z.object({ code: z.string().meta({ enum: [...BULK_ITEM_CODES] }), message: z.string() }),
  }),
]);
type BulkItemOut = z.infer<typeof BulkItem>;

const UNDO_REFUSALS: Readonly<Record<UndoRefusal, ErrorCode>> = {
  nothing: 'MODERATION_NOTHING_TO_UNDO',
  'not-yours': 'MODERATION_UNDO_NOT_YOURS',
  expired: 'MODERATION_UNDO_EXPIRED',
};

type Decision = 'approve' | 'reject';
const statusOf = (d: Decision): 'approved' | 'rejected' => (d === 'approve' ? 'approved' : 'rejected');

/**
 * Approve / reject one video, many at once, and undo. Every decision is recorded at once, with its audit row and
 * webhook event, in one transaction per video. Undo does not delay the decision (a delayed approval would need a
 * scheduler and a delayed rejection would leave bad content playing); it is a separate, audited call that returns
 * the video to the queue, revokes every playback URL issued meanwhile (access epoch) and tells webhook receivers
 * (video.returned_to_review), so an approval is never pulled back silently. See README "Moderation".
 */
export function registerDecisionRoutes(app: FastifyInstance, o: ModerationRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const staff = requireRole('moderator');
  const windowMs = o.undoWindowMs ?? DEFAULT_UNDO_WINDOW_MS;
  const now = o.now ?? Date.now;
  const undoUntil = (v: VideoRow): string => new Date((v.moderated_at?.getTime() ?? now()) + windowMs).toISOString();

  /** One decision; the refusal code when the video is missing or (approving) not ready. */
  async function decideOne(id: string, d: Decision, notes: string | null, actor: Actor): Promise<VideoRow | ErrorCode> {
    const res = await o.admin.moderate(id, statusOf(d), notes, actor);
    if (!res) return 'API_NOT_FOUND';
    if (res.notReady) return 'MODERATION_NOT_READY';
    // The video.approved / video.rejected event was stored with the decision; the outbox relay delivers it.
    o.access.invalidate(id);
    return res.video;
  }

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
          body: z.object({ notes: decision === 'reject' ? Notes.min(1) : Notes.optional() }),
          security: security('bearer'),
          response: { 200: Decided, ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_NOT_FOUND', 'MODERATION_NOT_READY') },
        },
      },
      async (req) => {
        const p = principalOf(req);
        const v = await decideOne(req.params.id, decision, req.body.notes || null, actorOf(p, req.id));
        if (typeof v === 'string') throw new PipelineError(v, `Video ${req.params.id} cannot be ${statusOf(decision)}.`);
        return { ...videoDetail(v, await o.videos.renditions(v.id), issuePlayback(o, v, p)), undoUntil: undoUntil(v) };
      },
    );
  }

  r.post(
    '/api/moderation/decisions',
    {
      preHandler: staff,
      schema: {
        tags: ['moderation'],
        summary: 'Approve or reject several videos at once (one shared note); a result per id, each audited like a single decision',
        description:
          'Each video is decided in its own transaction, in the order given: one that cannot be decided (missing, or not ready ' +
          'to approve) gets ok=false with its error code, and the others still go through.',
        body: z.object({
          ids: z
            .array(z.uuid())
            .min(1)
            .max(100)
            .refine((ids) => new Set(ids).size === ids.length, 'ids must be unique'),
          decision: z.enum(['approve', 'reject']),
          notes: Notes.optional().describe('Required to reject; shared by every video of the request'),
        }),
        security: security('bearer'),
        response: { 200: z.object({ items: z.array(BulkItem) }), ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN') },
      },
    },
    async (req) => {
      const { ids, decision } = req.body;
      const notes = req.body.notes || null;
      if (decision === 'reject' && !notes) throw new PipelineError('API_BAD_REQUEST', 'A rejection needs notes for the uploader.');
      const actor = actorOf(principalOf(req), req.id);
      const items: BulkItemOut[] = [];
      for (const id of ids) {
        const v = await decideOne(id, decision, notes, actor);
        items.push(
          typeof v === 'string'
            ? { id, ok: false, error: { code: v, message: `${v}: ${ERROR_DEFINITIONS[v].hint}` } }
            : { id, ok: true, moderationStatus: v.moderation_status, undoUntil: undoUntil(v) },
        );
      }
      req.log.info({ decision, ok: items.filter((i) => i.ok).length, failed: items.filter((i) => !i.ok).length }, 'bulk decision');
      return { items };
    },
  );

  r.post(
    '/api/moderation/videos/:id/undo',
    {
      preHandler: staff,
      schema: {
        tags: ['moderation'],
        summary: "Take back one's own decision within the undo window: the video returns to the queue (audited)",
        description:
          'Only the moderator who decided, only while that decision is the latest change of the video. Undoing an approval ' +
          'revokes every playback URL issued since and sends video.returned_to_review.',
        params: IdParams,
        security: security('bearer'),
        response: {
          200: VideoDetail,
          ...errorResponses(
            ...BEARER_ERRORS,
            'AUTH_FORBIDDEN',
            'API_NOT_FOUND',
            'MODERATION_UNDO_EXPIRED',
            'MODERATION_UNDO_NOT_YOURS',
            'MODERATION_NOTHING_TO_UNDO',
          ),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const res = await o.admin.undoDecision(req.params.id, { actor: actorOf(p, req.id), windowMs, nowMs: now() });
      if (!res) throw new PipelineError('API_NOT_FOUND', `No video ${req.params.id}.`);
      if (res.refused) throw new PipelineError(UNDO_REFUSALS[res.refused], `Cannot undo on video ${req.params.id}.`);
      o.access.invalidate(res.video.id);
      const v = res.video;
      return videoDetail(v, await o.videos.renditions(v.id), issuePlayback(o, v, p));
    },
  );
}
