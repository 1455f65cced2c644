-- Which tus upload became which video, kept after the video is deleted (no foreign key, like moderation_audit). It is
-- written in the same transaction as the video row, so the upload sweep can tell an upload that never became a video
-- (a crash or a database outage between its last byte and the row: finish it now) from one whose video was deleted
-- (remove its files, never make the video again).
CREATE TABLE upload_finishes (
  upload_id   text PRIMARY KEY,
  video_id    uuid NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO upload_finishes (upload_id, video_id, finished_at)
  SELECT upload_id, id, created_at FROM videos WHERE upload_id IS NOT NULL;
