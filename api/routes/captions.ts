import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import { MODERATION_STATUSES } from '../../core/types.ts';
import type { CaptionRepository, CaptionRow } from '../../db/captions.ts';
import type { VideoRepository } from '../../db/videos.ts';
import { CAPTION_DEFAULTS, parseCaptions, renderWebVtt, type CaptionFormat } from '../../ingest/captions/captions.ts';
import { principalOf, requireRole } from '../auth.ts';
import { BEARER_ERRORS, errorResponses, security } from '../openapi.ts';
import { visibleVideo } from './videos.ts';

export interface CaptionRoutesOptions {
  readonly videos: VideoRepository;
  readonly captions: CaptionRepository;
  /** Largest caption file in bytes; default 512 KiB. */
  readonly maxBytes?: number;
}

/** Primary language subtag lower-case, then up to three subtags (BCP 47 shape; also a safe path segment). */
export const CAPTION_LANG = /^[a-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/;
/** A menu label: letters, digits, spaces and a little punctuation; nothing that could end a playlist attribute. */
const LABEL = /^[\p{L}\p{M}\p{N} ()._'-]{1,40}$/u;
const FORMATS: Readonly<Record<string, CaptionFormat>> = {
  'text/vtt': 'vtt',
  'application/x-subrip': 'srt',
  'text/srt': 'srt',
};

export const Caption = z.object({
  lang: z.string().describe('BCP 47 language tag; one caption per video and language'),
  label: z.string().describe('Name shown in the player menu'),
  status: z.enum(MODERATION_STATUSES).describe('Only approved captions reach viewers'),
  notes: z.string().nullable(),
  format: z.enum(['vtt', 'srt']).describe('Format of the uploaded file; the stored text is always WebVTT'),
  cueCount: z.number(),
  uploadedBy: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.iso.datetime().nullable(),
  updatedAt: z.iso.datetime(),
});
const captionOut = (c: CaptionRow): z.infer<typeof Caption> => ({
  lang: c.lang,
  label: c.label,
  status: c.status,
  notes: c.notes,
  format: c.source_format,
  cueCount: c.cue_count,
  uploadedBy: c.uploaded_by,
  decidedBy: c.decided_by,
  decidedAt: c.decided_at ? c.decided_at.toISOString() : null,
  updatedAt: c.updated_at.toISOString(),
});

// Params are checked in the handlers, after the token: a request without one learns nothing about valid paths.
const Params = z.object({ id: z.string(), lang: z.string() });

function checkedParams(p: { id: string; lang: string }): { id: string; lang: string } {
  if (!z.uuid().safeParse(p.id).success || !CAPTION_LANG.test(p.lang)) {
    throw new PipelineError('API_BAD_REQUEST', 'Expected a video id and a language tag such as "en" or "pt-BR".', {
      lang: p.lang.slice(0, 40),
    });
  }
  return p;
}

/** Reads the raw body with a byte cap; anything over it is refused before it is all read. */
function addRawBodyParser(app: FastifyInstance, maxBytes: number): void {
  app.addContentTypeParser('*', (req: FastifyRequest, payload, done) => {
    const tooLarge = (): PipelineError =>
      new PipelineError('INGEST_CAPTION_TOO_LARGE', `Body over ${maxBytes} bytes.`, { limit: 'bytes', max: maxBytes });
    // A declared length over the cap is refused before a byte is read.
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      payload.resume();
      done(tooLarge(), undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    payload.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        payload.removeAllListeners('data');
        payload.resume();
        done(tooLarge(), undefined);
        return;
      }
      chunks.push(c);
    });
    payload.on('end', () => size <= maxBytes && done(null, Buffer.concat(chunks)));
    payload.on('error', (err) => done(err, undefined));
  });
}

/** Caption upload, listing and moderation, in their own scope so the raw-body parser applies to these routes only. */
export async function captionsPlugin(app: FastifyInstance, o: CaptionRoutesOptions): Promise<void> {
  const maxBytes = o.maxBytes ?? CAPTION_DEFAULTS.maxBytes;
  addRawBodyParser(app, maxBytes);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const anyUser = requireRole('uploader', 'moderator');
  const staff = requireRole('moderator');

  r.put(
    '/api/videos/:id/captions/:lang',
    {
      preHandler: anyUser,
      schema: {
        tags: ['captions'],
        summary: 'Upload captions for one language (body: WebVTT as text/vtt, or SubRip as application/x-subrip); owner or moderator',
        description:
          'The file is parsed strictly and stored as re-serialised WebVTT. A new upload replaces the language and waits for a moderator again: ' +
          'captions reach viewers only once approved, whatever the video state.',
        params: Params,
        querystring: z.object({ label: z.string().optional().describe('Menu label; default the language tag') }),
        security: security('bearer'),
        response: {
          200: Caption,
          ...errorResponses(
            ...BEARER_ERRORS,
            'AUTH_FORBIDDEN',
            'API_NOT_FOUND',
            'API_VIDEO_UPLOADING',
            'INGEST_CAPTION_TYPE',
            'INGEST_CAPTION_TOO_LARGE',
            'INGEST_CAPTION_ENCODING',
            'INGEST_CAPTION_INVALID',
            'INGEST_CAPTION_MARKUP',
            'INGEST_CAPTION_TIMING',
            'INGEST_CAPTION_VIDEO_PENDING',
          ),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { id, lang } = checkedParams(req.params);
      const label = (req.query.label ?? lang).trim();
      if (!LABEL.test(label)) throw new PipelineError('API_BAD_REQUEST', "Labels are 1-40 letters, digits, spaces and ()._'-.");
      const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
      const format = FORMATS[type];
      if (!format || !Buffer.isBuffer(req.body)) throw new PipelineError('INGEST_CAPTION_TYPE', `Content-Type "${type.slice(0, 60)}".`);
      const v = await visibleVideo(o.videos, p, id);
      if (v.duration_sec === null) throw new PipelineError('INGEST_CAPTION_VIDEO_PENDING', 'The video length is not known yet.', { id });
      const doc = parseCaptions(req.body, format, { maxBytes, durationMs: Math.round(v.duration_sec * 1000) });
      const row = await o.captions.put({
        videoId: v.id,
        lang,
        label,
        format,
        vtt: renderWebVtt(doc),
        cueCount: doc.cues.length,
        uploadedBy: p.id,
      });
      req.log.info({ videoId: v.id, lang, cues: doc.cues.length, by: p.id }, 'caption uploaded');
      return captionOut(row);
    },
  );

  r.get(
    '/api/videos/:id/captions',
    {
      preHandler: anyUser,
      schema: {
        tags: ['captions'],
        summary: "A video's captions with their moderation status (owner or moderator)",
        params: z.object({ id: z.uuid() }),
        security: security('bearer'),
        response: {
          200: z.object({ items: z.array(Caption) }),
          ...errorResponses(...BEARER_ERRORS, 'API_NOT_FOUND', 'API_VIDEO_UPLOADING'),
        },
      },
    },
    async (req) => {
      const v = await visibleVideo(o.videos, principalOf(req), req.params.id);
      return { items: (await o.captions.list(v.id)).map(captionOut) };
    },
  );

  r.get(
    '/api/videos/:id/captions/:lang',
    {
      preHandler: anyUser,
      schema: {
        tags: ['captions'],
        summary: 'The stored WebVTT of one caption, whatever its status (owner or moderator; for review)',
        params: Params,
        security: security('bearer'),
        response: errorResponses(...BEARER_ERRORS, 'API_NOT_FOUND', 'API_VIDEO_UPLOADING'),
      },
    },
    async (req, reply) => {
      const { id, lang } = checkedParams(req.params);
      const v = await visibleVideo(o.videos, principalOf(req), id);
      const c = await o.captions.get(v.id, lang);
      if (!c) throw new PipelineError('API_NOT_FOUND', `No ${lang} captions for ${id}.`, { id, lang });
      return reply.type('text/vtt; charset=utf-8').header('cache-control', 'private, no-store').send(c.vtt);
    },
  );

  r.delete(
    '/api/videos/:id/captions/:lang',
    {
      preHandler: anyUser,
      schema: {
        tags: ['captions'],
        summary: 'Remove one caption (owner or moderator)',
        params: Params,
        security: security('bearer'),
        response: { 204: z.null(), ...errorResponses(...BEARER_ERRORS, 'API_NOT_FOUND', 'API_VIDEO_UPLOADING') },
      },
    },
    async (req, reply) => {
      const { id, lang } = checkedParams(req.params);
      const v = await visibleVideo(o.videos, principalOf(req), id);
      if (!(await o.captions.delete(v.id, lang))) throw new PipelineError('API_NOT_FOUND', `No ${lang} captions for ${id}.`, { id, lang });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/moderation/captions',
    {
      preHandler: staff,
      schema: {
        tags: ['moderation', 'captions'],
        summary: 'Captions waiting for review, oldest upload first',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
        security: security('bearer'),
        response: {
          200: z.object({ items: z.array(Caption.extend({ videoId: z.uuid(), videoTitle: z.string() })) }),
          ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN'),
        },
      },
    },
    async (req) => ({
      items: (await o.captions.pending(req.query.limit)).map((c) => ({ ...captionOut(c), videoId: c.video_id, videoTitle: c.video_title })),
    }),
  );

  for (const decision of ['approve', 'reject'] as const) {
    r.post(
      `/api/moderation/videos/:id/captions/:lang/${decision}`,
      {
        preHandler: staff,
        schema: {
          tags: ['moderation', 'captions'],
          summary:
            decision === 'approve'
              ? 'Approve a caption: viewers of the approved video get it'
              : 'Reject a caption: nobody but staff gets it',
          params: Params,
          body: z.object({
            notes: decision === 'reject' ? z.string().trim().min(1).max(2000) : z.string().trim().max(2000).optional(),
          }),
          security: security('bearer'),
          response: { 200: Caption, ...errorResponses(...BEARER_ERRORS, 'AUTH_FORBIDDEN', 'API_NOT_FOUND') },
        },
      },
      async (req) => {
        const { id, lang } = checkedParams(req.params);
        const status = decision === 'approve' ? 'approved' : 'rejected';
        const p = principalOf(req);
        const row = await o.captions.decide(id, lang, status, req.body.notes || null, { id: p.id, role: p.role, requestId: req.id });
        if (!row) throw new PipelineError('API_NOT_FOUND', `No ${lang} captions for ${id}.`, { id, lang });
        req.log.info({ videoId: id, lang, status, by: principalOf(req).id }, 'caption moderated');
        return captionOut(row);
      },
    );
  }
}
