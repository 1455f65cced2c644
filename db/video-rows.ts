import type { Dependency, ModerationStatus, SourceProbe, VideoStatus } from '../core/types.ts';

/** The shapes of a video's rows as the repositories return them (snake_case, as PostgreSQL names the columns). */
export interface VideoRow {
  id: string;
  upload_id: string | null;
  title: string;
  description: string;
  original_filename: string | null;
  uploader_id: string | null;
  status: VideoStatus;
  stage: string | null;
  progress: number;
  error_code: string | null;
  error_message: string | null;
  source_size_bytes: number | null;
  source_probe: SourceProbe | null;
  duration_sec: number | null;
  source_key: string | null;
  hls_prefix: string | null;
  master_key: string | null;
  moderation_status: ModerationStatus;
  moderation_notes: string | null;
  moderated_by: string | null;
  moderated_at: Date | null;
  created_at: Date;
  updated_at: Date;
  ready_at: Date | null;
  /** ClamAV verdict (migration 0003); null until scanned. */
  scan_result: 'clean' | 'infected' | null;
  scan_signature: string | null;
  scanned_at: Date | null;
  /** sha256 of the upload exactly as received. */
  source_sha256: string | null;
  quarantine_path: string | null;
  /** Path of the metadata-stripped master relative to the masters directory. */
  stripped_master_key: string | null;
  stripped_sha256: string | null;
  stripped_size_bytes: number | null;
  /** Set when the EVENT package became playable (migration 0005). */
  previewable_at: Date | null;
  poster_key: string | null;
  /** Key of the storyboard WebVTT; its cues name the sprite next to it. */
  storyboard_key: string | null;
  posters: PosterRow[];
  /** Bumped by a trigger whenever access is revoked (migration 0008); signed playback URLs carry it. */
  access_epoch: number;
  /** The dependency the job is waiting for (migration 0011); null unless stage is `waiting`. */
  waiting_for: Dependency | null;
  /** Start of the wait (the first of a streak of waits for the same dependency). */
  waiting_since: Date | null;
  /** The uploader's opaque reference (Upload-Metadata `passthrough`, migration 0014), echoed in every webhook. */
  passthrough: string | null;
  /** Cloudflare Stream copy (migration 0006); null unless offloaded. */
  stream_uid: string | null;
}

/** What every signed HLS request is checked against: the few columns that decide who may play the video. */
export interface AccessStateRow {
  status: VideoStatus;
  moderation_status: ModerationStatus;
  uploader_id: string | null;
  previewable: boolean;
  access_epoch: number;
}

/** One poster image in the posters jsonb column. */
export interface PosterRow {
  key: string;
  width: number;
  height: number;
  format: 'jpeg' | 'webp';
}

export interface RenditionRow {
  video_id: string;
  name: string;
  kind: 'video' | 'audio';
  width: number | null;
  height: number | null;
  fps: number | null;
  codecs: string;
  bandwidth: number;
  average_bandwidth: number;
  playlist_key: string;
  size_bytes: number;
}

export interface NewVideo {
  /** The id reserved when the upload was created (its Video-Id); default: the database draws one. */
  readonly id?: string | null;
  readonly uploadId: string;
  readonly title: string;
  readonly description: string;
  readonly originalFilename: string | null;
  readonly uploaderId: string | null;
  readonly sourceKey: string;
  readonly sourceSizeBytes: number;
  /** Upload-Metadata `passthrough` (validated, at most 255 characters); default none. */
  readonly passthrough?: string | null;
}
