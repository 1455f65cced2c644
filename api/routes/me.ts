import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor } from '../../db/video-admin.ts';
import type { ErasureResult } from '../../pipeline/erasure.ts';
import { principalOf, requireRole } from '../auth.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import { actorOf } from './videos.ts';

/** What the routes call (pipeline/data-export.ts and pipeline/erasure.ts, wired in ops/api-root.ts). */
export interface PersonalDataRoutesOptions {
  /** The export document (JSON) of a user, streamed. */
  readonly exportJson: (userId: string) => Readable;
  /** The document and the user's masters as one zip, streamed. */
  readonly exportZip: (userId: string) => Readable;
  readonly erase: (userId: string, actor: Actor) => Promise<ErasureResult>;
}

const ExportQuery = z.object({
  masters: z
    .enum(['true', 'false'])
    .default('false')
    .describe('Also the user’s own masters: a zip of export.json and masters/<videoId>.mp4'),
});
const ErasureAnswer = z.object({
  erased: z.literal(true),
  videos: z.number().describe('Videos deleted (with HLS, masters, archive and Stream copies)'),
  objects: z.number().describe('Objects deleted from the stores'),
  files: z.number().describe('Files and directories deleted on the data volume'),
  rows: z.record(z.string(), z.number()).describe('Rows deleted, or pseudonymised (moderation_audit), per table'),
});
// Ids come from the identity provider; bounded and printable so nothing odd reaches a log line or a query.
const UserParams = z.object({
  userId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/),
});
/** A store that fails stops the erasure before the rows go; the same request can be sent again. */
const ERASURE_ERRORS = ['API_ERASURE_BUSY', 'STORAGE_BACKEND_FAILED', 'STREAM_API_ERROR', 'STREAM_RATE_LIMITED'] as const;
const EXPORT_DOC =
  'Everything held about the user as JSON ({format, userId, generatedAt, videoIds, tables: {<table>: [rows]}, objects: ' +
  '[{store, key}]}), streamed; staff who acted on the videos appear by role only. With masters=true, a zip of that ' +
  'document and the masters.';

function sendExport(o: PersonalDataRoutesOptions, reply: FastifyReply, userId: string, masters: boolean): FastifyReply {
  const name = masters ? 'kidstream-export.zip' : 'kidstream-export.json';
  reply.header('content-disposition', `attachment; filename="${name}"`);
  reply.header('cache-control', 'no-store');
  reply.type(masters ? 'application/zip' : 'application/json; charset=utf-8');
  return reply.send(masters ? o.exportZip(userId) : o.exportJson(userId));
}

/**
 * Right of access and erasure (GDPR Art. 15, 17, 20): the caller's own data, and an admin's routes for a user id (a
 * request that came by mail). The export is owner-only: an uploader can name no one else, staff included.
 */
export function registerPersonalDataRoutes(app: FastifyInstance, o: PersonalDataRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const exportResponses = { 200: z.unknown().describe(EXPORT_DOC), ...errorResponses(...BEARER_ERRORS, 'API_EXPORT_TOO_LARGE') };
  // An export reads a user's whole history and, with masters, every master: a few a minute is plenty for a person.
  const exportLimit = { rateLimit: { max: 6, timeWindow: 60_000 } };
  r.get(
    '/api/me/export',
    {
      preHandler: requireRole('uploader', 'moderator'),
      schema: {
        tags: ['me'],
        summary: 'Export everything held about me',
        querystring: ExportQuery,
        security: security('bearer'),
        response: exportResponses,
      },
    },
    async (req, reply) => sendExport(o, reply, principalOf(req).id, req.query.masters === 'true'),
  );
  r.delete(
    '/api/me',
    {
      preHandler: requireRole('uploader', 'moderator'),
      schema: {
        tags: ['me'],
        summary: 'Erase me: my videos and every file and row about me; the moderation audit keeps its decisions, pseudonymised',
        security: security('bearer'),
        response: { 200: ErasureAnswer, ...errorResponses(...BEARER_ERRORS, ...ERASURE_ERRORS) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return { erased: true as const, ...(await o.erase(p.id, actorOf(p, req.id))) };
    },
  );
  r.get(
    '/api/admin/users/:userId/export',
    {
      preHandler: requireRole('admin'),
      config: exportLimit,
      schema: {
        tags: ['me'],
        summary: 'Export everything held about a user (admin)',
        params: UserParams,
        querystring: ExportQuery,
        security: security('bearer'),
        response: { ...exportResponses, ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_BAD_REQUEST', 'API_EXPORT_TOO_LARGE') },
      },
    },
    async (req, reply) => sendExport(o, reply, req.params.userId, req.query.masters === 'true'),
  );
  r.delete(
    '/api/admin/users/:userId',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['me'],
        summary: 'Erase a user (admin): as DELETE /api/me',
        params: UserParams,
        security: security('bearer'),
        response: {
          200: ErasureAnswer,
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_BAD_REQUEST', ...ERASURE_ERRORS),
        },
      },
    },
    async (req) => ({ erased: true as const, ...(await o.erase(req.params.userId, actorOf(principalOf(req), req.id))) }),
  );
}
