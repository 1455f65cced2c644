-- Per-uploader upload quotas: one row per tus upload, or partial upload of a parallel (concatenated) upload, created
-- with an upload token. In PostgreSQL rather than derived from the upload directory so that every API process sees
-- the same counts, they survive restarts, and check-then-create is atomic (an advisory lock per uploader).
CREATE TABLE upload_quota_entries (
  upload_id     text PRIMARY KEY,
  -- Upload-token subject; '' for tokens issued without one.
  uploader      text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('upload', 'partial')),
  -- Declared Upload-Length (the largest allowed size while the length is deferred, the real size once finished).
  bytes         bigint NOT NULL CHECK (bytes >= 0),
  created_at    timestamptz NOT NULL,
  -- Set once the upload stops being open: finished, terminated, concatenated (partials) or never created.
  closed_at     timestamptz,
  closed_reason text CHECK (closed_reason IN ('finished', 'terminated', 'concatenated', 'failed')),
  CHECK ((closed_at IS NULL) = (closed_reason IS NULL))
);
CREATE INDEX upload_quota_entries_uploader_idx ON upload_quota_entries (uploader, created_at);
