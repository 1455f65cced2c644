-- Videos and their renditions. Processing status and moderation status are separate axes:
-- a video can be ready (transcoded) and still pending review; only approved videos play for viewers.
CREATE TABLE videos (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  upload_id         text UNIQUE,
  title             text NOT NULL DEFAULT '',
  description       text NOT NULL DEFAULT '',
  original_filename text,
  uploader_id       text,
  status            text NOT NULL DEFAULT 'uploaded'
                    CHECK (status IN ('uploaded', 'processing', 'ready', 'failed', 'rejected')),
  stage             text,
  progress          real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
  error_code        text,
  error_message     text,
  source_size_bytes bigint,
  source_probe      jsonb,
  duration_sec      double precision,
  source_key        text,
  hls_prefix        text,
  master_key        text,
  moderation_status text NOT NULL DEFAULT 'pending'
                    CHECK (moderation_status IN ('pending', 'approved', 'rejected')),
  moderation_notes  text,
  moderated_by      text,
  moderated_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  ready_at          timestamptz
);
CREATE INDEX videos_status_idx ON videos (status);
CREATE INDEX videos_moderation_idx ON videos (moderation_status, created_at);

CREATE TABLE renditions (
  video_id          uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  name              text NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('video', 'audio')),
  width             integer,
  height            integer,
  fps               double precision,
  codecs            text NOT NULL,
  bandwidth         integer NOT NULL,
  average_bandwidth integer NOT NULL,
  playlist_key      text NOT NULL,
  size_bytes        bigint NOT NULL,
  PRIMARY KEY (video_id, name)
);
