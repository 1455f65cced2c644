import type { FastifyInstance } from 'fastify';
import { PipelineError } from '../core/errors.ts';
import type { RenditionRow, VideoRepository, VideoRow } from '../db/videos.ts';

export interface VideoRoutesOptions {
  readonly videos: VideoRepository;
}

export function videoView(v: VideoRow, renditions: RenditionRow[]) {
  return {
    id: v.id,
    title: v.title,
    description: v.description,
    status: v.status,
    stage: v.stage,
    progress: v.progress,
    error: v.error_code ? { code: v.error_code, message: v.error_message } : null,
    durationSec: v.duration_sec,
    sourceSizeBytes: v.source_size_bytes,
    moderation: { status: v.moderation_status, notes: v.moderation_notes, by: v.moderated_by, at: v.moderated_at },
    masterUrl: v.master_key ? `/${v.master_key}` : null,
    // A moderator can watch once the EVENT package is up, long before status becomes ready (issue 5).
    previewable: v.status === 'ready' || (v.status === 'processing' && v.previewable_at !== null),
    previewableAt: v.previewable_at,
    posterUrl: v.poster_key ? `/${v.poster_key}` : null,
    posters: (v.posters ?? []).map((p) => ({ url: `/${p.key}`, width: p.width, height: p.height, format: p.format })),
    storyboardUrl: v.storyboard_key ? `/${v.storyboard_key}` : null,
    renditions: renditions.map((r) => ({
      name: r.name, kind: r.kind, width: r.width, height: r.height, fps: r.fps, codecs: r.codecs,
      bandwidth: r.bandwidth, averageBandwidth: r.average_bandwidth,
    })),
    createdAt: v.created_at,
    readyAt: v.ready_at,
  };
}

export function registerVideoRoutes(app: FastifyInstance, o: VideoRoutesOptions): void {
  app.get<{ Params: { id: string } }>('/api/videos/:id', async (req) => {
    const v = await o.videos.get(req.params.id);
    if (!v) throw new PipelineError('API_NOT_FOUND', `No video ${req.params.id}.`, { id: req.params.id });
    return videoView(v, await o.videos.renditions(v.id));
  });
}
