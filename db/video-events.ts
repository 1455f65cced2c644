import type { TransactionSql } from 'postgres';
import type { WebhookEventType } from '../core/types.ts';
import type { VideoRow } from './video-rows.ts';
import { insertOutboxEvent } from './webhook-outbox.ts';

/**
 * The API path that hands out signed playback URLs for a video. Webhooks carry this path, never a signed URL: an event
 * sits in queues and receivers' logs for days, longer than any playback signature should live.
 */
export const playbackPath = (videoId: string): string => `/api/playback/${videoId}`;

/** The public fields of a video as every webhook about it carries them (no storage keys, no scan details). */
export function publicVideoFields(v: VideoRow): Record<string, unknown> {
  return {
    id: v.id,
    title: v.title,
    description: v.description,
    uploaderId: v.uploader_id,
    status: v.status,
    durationSec: v.duration_sec,
    moderationStatus: v.moderation_status,
    passthrough: v.passthrough,
    createdAt: v.created_at.toISOString(),
    readyAt: v.ready_at ? v.ready_at.toISOString() : null,
  };
}

/**
 * Stores a webhook event about `v` in the caller's transaction: the video's public fields and its passthrough (echoed
 * in every event, like Mux's), plus what the event adds.
 */
export async function insertVideoEvent(
  tx: TransactionSql,
  type: WebhookEventType,
  v: VideoRow,
  extra: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  await insertOutboxEvent(tx, type, v.id, { passthrough: v.passthrough, video: publicVideoFields(v), ...extra });
}
