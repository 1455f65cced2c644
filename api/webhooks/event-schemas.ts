import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { z } from 'zod';
import { ERROR_DEFINITIONS } from '../../core/errors.ts';
import { MODERATION_STATUSES, VIDEO_STATUSES, WEBHOOK_EVENTS, type WebhookEventType } from '../../core/types.ts';
import { SIGNATURE_HEADER } from './signature.ts';

/**
 * The webhook payloads as receivers get them (db/video-events.ts builds them), for the OpenAPI document's `webhooks`.
 * A description of what is sent, not a validator on the sending side: the outbox stores what the transaction wrote.
 */
const iso = z.iso.datetime();

const PublicVideo = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string(),
    uploaderId: z.string().nullable(),
    status: z.enum(VIDEO_STATUSES).describe('Processing status when the event was stored'),
    durationSec: z.number().nullable(),
    moderationStatus: z.enum(MODERATION_STATUSES),
    passthrough: z.string().nullable(),
    createdAt: iso,
    readyAt: iso.nullable(),
  })
  .describe("The video's public fields (the same as GET /api/videos/{id} returns), never storage keys or signed URLs");

const PlaybackRef = z
  .object({ path: z.string().describe('e.g. /api/playback/{id}: GET it (with a token for previews) for a short-lived signed URL') })
  .describe('Where to ask for playback; webhooks never carry a signed URL, which would outlive its purpose in logs and queues');

const base = {
  videoId: z.uuid(),
  passthrough: z.string().nullable().describe('Upload-Metadata `passthrough` of the upload, echoed in every event about the video'),
  video: PublicVideo,
};

const DATA: Record<WebhookEventType, { summary: string; data: z.ZodObject }> = {
  'video.created': { summary: 'The upload finished and the video exists (status uploaded); processing starts', data: z.object(base) },
  'video.ready': {
    summary: 'Processing finished: the video is playable for moderators and its owner, for everyone once approved',
    data: z.object({ ...base, playback: PlaybackRef, durationSec: z.number().nullable() }),
  },
  'video.failed': {
    summary: 'Processing ended without a video: status failed (our side; can be retried), rejected (the file) or infected',
    data: z.object({
      ...base,
      code: z
        .string()
        .meta({ enum: Object.keys(ERROR_DEFINITIONS) })
        .describe('Stable error code (core/errors.ts)'),
      status: z.enum(['failed', 'rejected', 'infected']).describe('Processing status; not the moderation decision'),
    }),
  },
  'video.approved': {
    summary: 'A moderator approved the video: it now plays for everyone',
    data: z.object({ ...base, playback: PlaybackRef, title: z.string(), moderatedBy: z.string().nullable(), notes: z.string().nullable() }),
  },
  'video.rejected': {
    summary: 'A moderator rejected the video (moderation decision; not the processing status `rejected`)',
    data: z.object({ ...base, title: z.string(), moderatedBy: z.string().nullable(), notes: z.string().nullable() }),
  },
  'video.deleted': { summary: 'The video and its files were deleted', data: z.object({ ...base, deletedBy: z.string() }) },
  'video.returned_to_review': {
    summary:
      'An approval or rejection no longer stands and the video waits for review again: the moderator undid it, or the ' +
      'uploader edited the title or description of an approved video. An approved video stops playing for viewers.',
    data: z.object({
      ...base,
      reason: z.enum(['undo', 'edited']),
      previousDecision: z.enum(['approved', 'rejected']),
      by: z.string().describe('Who undid the decision, or who edited the video'),
    }),
  },
};

type Webhooks = NonNullable<Extract<NonNullable<FastifyDynamicSwaggerOptions['openapi']>, { webhooks?: unknown }>['webhooks']>;

/** OpenAPI 3.1 `webhooks`: one POST per event type, with the signed JSON body a receiver gets. */
export function webhookDocs(): Webhooks {
  const out: Record<string, unknown> = {};
  for (const type of WEBHOOK_EVENTS) {
    const body = z.object({
      id: z.uuid().describe('Event id, stable across redeliveries: deduplicate on it'),
      type: z.literal(type),
      createdAt: iso,
      data: DATA[type].data,
    });
    out[type] = {
      post: {
        summary: DATA[type].summary,
        parameters: [
          {
            name: SIGNATURE_HEADER,
            in: 'header',
            required: true,
            schema: { type: 'string' },
            description: 't=<unix>,v1=<hex HMAC-SHA256 of "t.body">',
          },
          { name: 'x-kidstream-event', in: 'header', required: true, schema: { type: 'string', const: type } },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(body, { target: 'draft-2020-12' }) } } },
        responses: { '2XX': { description: 'Received; any other answer is retried with exponential backoff (WEBHOOK_ATTEMPTS)' } },
      },
    };
  }
  return out as Webhooks;
}
