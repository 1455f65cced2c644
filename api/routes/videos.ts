import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import { MODERATION_STATUSES, VIDEO_STATUSES } from '../../core/types.ts';
import type { Actor, VideoAdminRepository } from '../../db/video-admin.ts';
import type { VideoRepository, VideoRow } from '../../db/videos.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { deleteVideoEverywhere, type LocalVideoFiles, type StreamCopies, type VideoArchive } from '../../pipeline/video-deletion.ts';
import { isStaff, principalOf, requireRole, type Principal } from '../auth.ts';
import type { AccessStateCache } from '../playback/access-cache.ts';
import { issuePlayback } from '../playback/issue.ts';
import type { PlaybackSigner } from '../playback/signing.ts';
import { decodeCursor, encodeCursor, PageQuery } from './cursor.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import { videoDetail, VideoDetail, VideoSummary, videoSummary } from './video-view.ts';

export type { LocalVideoFiles, RemovedLocalFiles, StreamCopies, VideoArchive } from '../../pipeline/video-deletion.ts';

export interface VideoRoutesOptions {
  readonly videos: VideoRepository;
  readonly admin: VideoAdminRepository;
  readonly storage: ObjectStorage;
  readonly signer: PlaybackSigner;
  /** Playback access cache; a deletion is dropped from it so this process stops serving the video at once. */
  readonly access: AccessStateCache;
  /** Local file cleanup; default: none (files are left for the orphan-master sweep and the ingest janitor). */
  readonly files?: LocalVideoFiles;
  /** Archive store; default none (DELETE ?archive=true then answers API_ARCHIVE_UNAVAILABLE). */
  readonly archive?: VideoArchive;
  /** Removes a still-queued transcode job; default: none. */
  readonly cancelJob?: (videoId: string) => Promise<void>;
  /** Cloudflare Stream copies, deleted with the video; default none. */
  readonly stream?: StreamCopies;
  /** Issues analytics sessions with the public playback of a video's details; default none. */
  readonly analyticsSessions?: { issue(videoId: string): string };
}

const IdParams = z.object({ id: z.uuid() });
/** Text children will read: the same rule as the upload's metadata (no control characters; newlines and tabs are fine). */
const EditText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), 'no control characters');
const canSee = (p: Principal, v: VideoRow): boolean => isStaff(p) || v.uploader_id === p.id;

/**
 * Which moderator judged a video is staff data: an uploader sees that a moderator decided, and the notes, not who (an
 * upset parent must not be able to single out a moderator; the personal-data export hides them the same way).
 */
function forPrincipal<T extends { moderation: { by: string | null } }>(p: Principal, out: T): T {
  if (isStaff(p) || out.moderation.by === null || out.moderation.by === p.id) return out;
  return { ...out, moderation: { ...out.moderation, by: '(moderator)' } };
}
export const actorOf = (p: Principal, requestId: string): Actor => ({ id: p.id, role: p.role, requestId });

/**
 * A video the caller may see; uploaders get 404 for other people's videos (existence is not revealed). An id reserved
 * by an upload still under way is API_VIDEO_UPLOADING (also 404) for its uploader and staff, API_NOT_FOUND for others.
 */
export async function visibleVideo(videos: VideoRepository, p: Principal, id: string): Promise<VideoRow> {
  const v = await videos.get(id);
  if (v && canSee(p, v)) return v;
  const r = v ? undefined : await videos.reservation(id);
  if (r?.open && (isStaff(p) || r.uploader === p.id)) {
    throw new PipelineError('API_VIDEO_UPLOADING', `Video ${id} is still being uploaded.`, { id });
  }
  throw new PipelineError('API_NOT_FOUND', `No video ${id}.`, { id });
}

export function registerVideoRoutes(app: FastifyInstance, o: VideoRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const anyUser = requireRole('uploader', 'moderator');

  r.get(
    '/api/videos',
    {
      preHandler: anyUser,
      schema: {
        tags: ['videos'],
        summary: 'List videos (uploaders: only their own), newest first',
        querystring: PageQuery.extend({
          status: z.enum(VIDEO_STATUSES).optional(),
          moderation: z.enum(MODERATION_STATUSES).optional(),
          uploader: z.string().min(1).optional().describe('Staff only: filter by uploader id'),
        }),
        security: security('bearer'),
        response: {
          200: z.object({ items: z.array(VideoSummary), nextCursor: z.string().nullable() }),
          ...errorResponses(...BEARER_ERRORS),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const rows = await o.admin.list({
        uploaderId: isStaff(p) ? q.uploader : p.id,
        status: q.status,
        moderation: q.moderation,
        limit: q.limit + 1,
        after: decodeCursor(q.cursor),
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      const items = page.map((v) => forPrincipal(p, videoSummary(v)));
      return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
    },
  );

  r.get(
    '/api/videos/:id',
    {
      preHandler: anyUser,
      schema: {
        tags: ['videos'],
        summary: 'Status, stage, progress, renditions, errors and (when ready) a signed playback URL',
        params: IdParams,
        security: security('bearer'),
        response: { 200: VideoDetail, ...errorResponses(...BEARER_ERRORS, 'API_NOT_FOUND', 'API_VIDEO_UPLOADING') },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const v = await visibleVideo(o.videos, p, req.params.id);
      return forPrincipal(p, videoDetail(v, await o.videos.renditions(v.id), issuePlayback(o, v, p)));
    },
  );

  r.patch(
    '/api/videos/:id',
    {
      // The owner's text; moderators judge it, they do not rewrite it (admins may, for support).
      preHandler: requireRole('uploader'),
      schema: {
        tags: ['videos'],
        summary: "Edit the title and description of one's own video; an approved video goes back to review when its text changes",
        params: IdParams,
        body: z
          .object({ title: EditText(200).trim().min(1).optional(), description: EditText(5000).optional() })
          .refine((b) => b.title !== undefined || b.description !== undefined, 'send title and/or description'),
        security: security('bearer'),
        response: { 200: VideoDetail, ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_NOT_FOUND', 'API_VIDEO_UPLOADING') },
      },
    },
    async (req) => {
      const p = principalOf(req);
      await visibleVideo(o.videos, p, req.params.id);
      const v = await o.admin.updateMeta(req.params.id, req.body, actorOf(p, req.id));
      if (!v) throw new PipelineError('API_NOT_FOUND', `No video ${req.params.id}.`);
      // Back to review: this process must stop serving the old approval's URLs at once (the epoch moved).
      o.access.invalidate(v.id);
      return forPrincipal(p, videoDetail(v, await o.videos.renditions(v.id), issuePlayback(o, v, p)));
    },
  );

  r.delete(
    '/api/videos/:id',
    {
      preHandler: requireRole('uploader'),
      schema: {
        tags: ['videos'],
        summary: 'Delete a video: HLS objects, staged upload, master, work dirs and (only with archive=true) the archive copy',
        params: IdParams,
        querystring: z.object({ archive: z.enum(['true', 'false']).default('false').describe('Also delete the archived master') }),
        response: {
          200: z.object({
            deleted: z.literal(true),
            hlsObjects: z.number(),
            archiveDeleted: z.boolean(),
            masterDeleted: z.boolean(),
            workDirsDeleted: z.number(),
          }),
          ...errorResponses(
            ...BEARER_ERRORS,
            'AUTH_FORBIDDEN',
            'API_NOT_FOUND',
            'API_VIDEO_UPLOADING',
            'API_ARCHIVE_UNAVAILABLE',
            'STORAGE_BACKEND_FAILED',
            'STREAM_API_ERROR',
            'STREAM_RATE_LIMITED',
          ),
        },
        security: security('bearer'),
      },
    },
    async (req) => {
      const res = await deleteVideo(o, principalOf(req), req.params.id, req.query.archive === 'true', req.id);
      req.log.info({ videoId: req.params.id, ...res }, 'video deleted');
      return { deleted: true as const, ...res };
    },
  );
}

/** Checks the caller may delete it, then deletes everywhere (pipeline/video-deletion.ts). */
async function deleteVideo(
  o: VideoRoutesOptions,
  p: Principal,
  id: string,
  withArchive: boolean,
  requestId: string,
): Promise<{ hlsObjects: number; archiveDeleted: boolean; masterDeleted: boolean; workDirsDeleted: number }> {
  const v = await visibleVideo(o.videos, p, id);
  if (withArchive && !o.archive) throw new PipelineError('API_ARCHIVE_UNAVAILABLE', 'No archive store configured.');
  const res = await deleteVideoEverywhere({ ...o, onDeleted: (vid) => o.access.invalidate(vid) }, v, actorOf(p, requestId), withArchive);
  return {
    hlsObjects: res.hlsObjects,
    archiveDeleted: res.archiveDeleted,
    masterDeleted: res.masterDeleted,
    workDirsDeleted: res.workDirsDeleted,
  };
}
