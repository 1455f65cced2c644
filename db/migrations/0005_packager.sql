-- Issue 5 (packager). previewable_at: when the EVENT master and the first segment of every rung were published, so a
-- moderator can start watching while the transcode still runs. Poster and storyboard keys point into the HLS prefix.
ALTER TABLE videos
  ADD COLUMN previewable_at timestamptz,
  ADD COLUMN poster_key     text,
  ADD COLUMN storyboard_key text,
  ADD COLUMN posters        jsonb NOT NULL DEFAULT '[]'::jsonb;
