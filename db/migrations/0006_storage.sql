-- Issue 6: archive of masters (off-box copy, verified by sha256) and the optional Cloudflare Stream offload.
-- archived_at is set only after the archived object was read back and its sha256 matched master_sha256:
-- it is the one fact that allows deleting the staging copy (staging_path) later.
ALTER TABLE videos
  ADD COLUMN master_sha256        text CHECK (master_sha256 ~ '^[0-9a-f]{64}$'),
  ADD COLUMN master_size_bytes    bigint,
  ADD COLUMN archive_key          text,
  ADD COLUMN archived_at          timestamptz,
  ADD COLUMN staging_path         text,
  ADD COLUMN staging_deleted_at   timestamptz,
  ADD COLUMN stream_uid           text,
  ADD COLUMN stream_state         text
             CHECK (stream_state IN ('pendingupload', 'downloading', 'queued', 'inprogress', 'ready', 'error')),
  ADD COLUMN stream_error_code    text,
  ADD COLUMN stream_hls_url       text,
  ADD COLUMN stream_dash_url      text,
  ADD COLUMN stream_thumbnail_url text,
  ADD COLUMN stream_updated_at    timestamptz;
CREATE UNIQUE INDEX videos_stream_uid_idx ON videos (stream_uid) WHERE stream_uid IS NOT NULL;
-- Retention sweeps look for archived masters whose staging copy still exists.
CREATE INDEX videos_staging_due_idx ON videos (archived_at) WHERE archived_at IS NOT NULL AND staging_deleted_at IS NULL;
