import { z } from 'zod';
import { DEPENDENCIES, MODERATION_STATUSES, VIDEO_STATUSES } from '../../core/types.ts';
import type { RenditionRow, VideoRow } from '../../db/videos.ts';

/** JSON shapes of videos as the API returns them; zod here is both the serializer contract and the OpenAPI schema. */
const isoDate = z.iso.datetime();
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const VideoError = z.object({ code: z.string(), message: z.string().nullable() }).nullable();
export const Moderation = z.object({
  status: z.enum(MODERATION_STATUSES),
  notes: z.string().nullable(),
  by: z.string().nullable(),
  at: isoDate.nullable(),
});
export const Playback = z
  .object({
    url: z.string().describe('Signed master playlist URL (relative to the API origin)'),
    title: z.string().describe("The video's title, for the player to show"),
    posterUrl: z.string().nullable(),
    storyboardUrl: z.string().nullable().describe('Signed WebVTT of storyboard thumbnails (#xywh= into a signed sprite)'),
    expiresAt: isoDate,
    scope: z.enum(['public', 'preview']).describe('preview = not approved; only owners and moderators get it'),
    audience: z
      .enum(['public', 'owner', 'moderator'])
      .describe("Whom the signature was issued to; previews are short-lived and re-checked against that caller's right"),
    analyticsSession: z
      .string()
      .nullable()
      .describe('Credential of POST /api/analytics/beacons for this playback (public playback only; previews are not counted)'),
  })
  .nullable();

export const Waiting = z
  .object({
    for: z.enum(DEPENDENCIES).describe('The unavailable service the job waits for: clamd (virus scanner), database, storage, disk'),
    since: isoDate,
  })
  .nullable()
  .describe('Set while stage is "waiting": processing resumes by itself once the service is back');

export const VideoSummary = z.object({
  id: z.uuid(),
  title: z.string(),
  uploaderId: z.string().nullable(),
  status: z.enum(VIDEO_STATUSES),
  stage: z.string().nullable(),
  progress: z.number().min(0).max(100).describe('Percent of the current stage'),
  overallProgress: z
    .number()
    .min(0)
    .max(100)
    .nullable()
    .describe(
      'Percent of the whole way from upload to ready; null while the job waits for a service and once the video failed or was refused',
    ),
  waiting: Waiting,
  error: VideoError,
  durationSec: z.number().nullable(),
  moderation: Moderation,
  passthrough: z.string().nullable().describe('Upload-Metadata `passthrough` as the uploader sent it; echoed in every webhook'),
  createdAt: isoDate,
  readyAt: isoDate.nullable(),
});

export const VideoDetail = VideoSummary.extend({
  description: z.string(),
  sourceSizeBytes: z.number().nullable(),
  scan: z
    .object({ result: z.enum(['clean', 'infected']).nullable(), at: isoDate.nullable() })
    .describe('ClamAV verdict on the upload; result null until it was scanned'),
  renditions: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['video', 'audio']),
      width: z.number().nullable(),
      height: z.number().nullable(),
      fps: z.number().nullable(),
      codecs: z.string(),
      bandwidth: z.number(),
      averageBandwidth: z.number(),
    }),
  ),
  playback: Playback,
  previewable: z.boolean().describe('Playable now: ready, or still transcoding with the first segments published'),
  previewableAt: isoDate.nullable(),
  updatedAt: isoDate,
});

export type VideoDetailOut = z.infer<typeof VideoDetail>;
export type PlaybackOut = z.infer<typeof Playback>;

/**
 * Where each processing stage starts and ends on the one 0–100 scale a person watches. The checks before the encode
 * are quick, the ladder encode is most of the wait, and packaging ends below 100 so the bar reaches 100 only when the
 * video is ready.
 */
const STAGE_SPANS: Readonly<Record<string, readonly [number, number]>> = {
  scan: [0, 5],
  validate: [0, 5],
  strip: [0, 5],
  probe: [5, 6],
  transcode: [6, 95],
  package: [95, 99],
  archive: [95, 99],
  done: [99, 99],
};

export function overallProgress(v: Pick<VideoRow, 'status' | 'stage' | 'progress'>): number | null {
  if (v.status === 'ready') return 100;
  if (v.status === 'uploaded') return 0;
  if (v.status !== 'processing') return null;
  const span = STAGE_SPANS[v.stage ?? ''];
  // While a job waits for a service (stage `waiting`) the row no longer says how far it had come.
  if (!span) return null;
  const [from, to] = span;
  return Math.round((from + ((to - from) * Math.min(100, Math.max(0, v.progress))) / 100) * 10) / 10;
}

export function videoSummary(v: VideoRow): z.infer<typeof VideoSummary> {
  return {
    id: v.id,
    title: v.title,
    uploaderId: v.uploader_id,
    status: v.status,
    stage: v.stage,
    progress: v.progress,
    overallProgress: overallProgress(v),
    waiting: v.waiting_for && v.waiting_since ? { for: v.waiting_for, since: v.waiting_since.toISOString() } : null,
    error: v.error_code ? { code: v.error_code, message: v.error_message } : null,
    durationSec: v.duration_sec,
    moderation: { status: v.moderation_status, notes: v.moderation_notes, by: v.moderated_by, at: iso(v.moderated_at) },
    passthrough: v.passthrough,
    createdAt: v.created_at.toISOString(),
    readyAt: iso(v.ready_at),
  };
}

export function videoDetail(v: VideoRow, renditions: RenditionRow[], playback: PlaybackOut): VideoDetailOut {
  return {
    ...videoSummary(v),
    description: v.description,
    sourceSizeBytes: v.source_size_bytes,
    scan: { result: v.scan_result, at: iso(v.scanned_at) },
    renditions: renditions.map((r) => ({
      name: r.name,
      kind: r.kind,
      width: r.width,
      height: r.height,
      fps: r.fps,
      codecs: r.codecs,
      bandwidth: r.bandwidth,
      averageBandwidth: r.average_bandwidth,
    })),
    playback,
    previewable: v.status === 'ready' || (v.status === 'processing' && v.previewable_at !== null),
    previewableAt: iso(v.previewable_at),
    updatedAt: v.updated_at.toISOString(),
  };
}
