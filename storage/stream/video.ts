import { z } from 'zod';

/** Processing states documented for GET /stream/{uid} `status.state` (plus the upload-side ones). */
export const STREAM_STATES = ['pendingupload', 'downloading', 'queued', 'inprogress', 'ready', 'error'] as const;
export type StreamState = (typeof STREAM_STATES)[number];

/** The Cloudflare v4 response envelope: {result, success, errors, messages}. */
export const EnvelopeSchema = z.object({
  result: z.unknown().optional(),
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number().optional(), message: z.string().optional() }).loose()).default([]),
  messages: z.array(z.unknown()).default([]),
});

const VideoSchema = z
  .object({
    uid: z.string().min(1),
    readyToStream: z.boolean().optional(),
    thumbnail: z.string().optional(),
    requireSignedURLs: z.boolean().optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
    playback: z.object({ hls: z.string().optional(), dash: z.string().optional() }).loose().optional(),
    status: z
      .object({
        state: z.enum(STREAM_STATES),
        pctComplete: z.union([z.string(), z.number()]).optional(),
        // The docs use errorReasonCode, webhooks and older responses errReasonCode: accept both.
        errorReasonCode: z.string().optional(),
        errReasonCode: z.string().optional(),
        errorReasonText: z.string().optional(),
        errReasonText: z.string().optional(),
      })
      .loose(),
  })
  .loose();

/** A Stream video as the pipeline uses it, with the two error-field spellings folded into one. */
export interface StreamVideo {
  readonly uid: string;
  readonly state: StreamState;
  readonly readyToStream: boolean;
  readonly errorReasonCode: string | null;
  readonly errorReasonText: string | null;
  readonly hlsUrl: string | null;
  readonly dashUrl: string | null;
  readonly thumbnailUrl: string | null;
  readonly requireSignedURLs: boolean;
}

/** Parses a video object (API `result` or webhook body); undefined when it does not have the documented shape. */
export function parseStreamVideo(raw: unknown): StreamVideo | undefined {
  const p = VideoSchema.safeParse(raw);
  if (!p.success) return undefined;
  const v = p.data;
  const code = v.status.errorReasonCode || v.status.errReasonCode || null;
  return {
    uid: v.uid,
    state: v.status.state,
    readyToStream: v.readyToStream ?? v.status.state === 'ready',
    errorReasonCode: code,
    errorReasonText: v.status.errorReasonText || v.status.errReasonText || null,
    hlsUrl: v.playback?.hls ?? null,
    dashUrl: v.playback?.dash ?? null,
    thumbnailUrl: v.thumbnail ?? null,
    requireSignedURLs: v.requireSignedURLs ?? false,
  };
}
