-- What integrators used to Mux Video and Cloudflare Stream expect from the API.
--
-- passthrough: an opaque string the uploader's system attaches to an upload (Upload-Metadata `passthrough`, like
-- Mux's passthrough) to find its own record again; stored on the video, returned by the API and echoed in every
-- webhook about the video. Bounded here too, so no code path can store more than the API accepts.
ALTER TABLE videos ADD COLUMN passthrough text CHECK (char_length(passthrough) <= 255);

-- The video id is handed out when the upload is created (Video-Id on the tus 201), before the row exists: the quota
-- entry of the upload records it, so GET /api/videos/:id can tell "still uploading" from "no such video". Unique, so
-- one id can never name two uploads.
ALTER TABLE upload_quota_entries ADD COLUMN video_id uuid;
CREATE UNIQUE INDEX upload_quota_entries_video_idx ON upload_quota_entries (video_id) WHERE video_id IS NOT NULL;

-- video.created (the upload finished and the row exists) and video.deleted join the outbox's events.
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_event_type_check;
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_event_type_check CHECK (event_type IN
  ('video.created', 'video.ready', 'video.failed', 'video.approved', 'video.rejected', 'video.deleted'));
