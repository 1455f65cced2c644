-- Dependency outages delay a job instead of failing it; the row says what the video is waiting for and since when,
-- so the upload page can tell the uploader instead of showing a stage that does not move.
ALTER TABLE videos
  ADD COLUMN waiting_for text CHECK (waiting_for IN ('clamd', 'database', 'storage', 'disk')),
  ADD COLUMN waiting_since timestamptz;
-- Rows are waiting only while processing; the reconciler and the stuck-video report look them up.
CREATE INDEX videos_waiting_idx ON videos (waiting_since) WHERE waiting_for IS NOT NULL;

-- A moderator's or admin's retry of a failed video is audited like every other staff action on a video.
ALTER TABLE moderation_audit DROP CONSTRAINT moderation_audit_action_check;
ALTER TABLE moderation_audit ADD CONSTRAINT moderation_audit_action_check
  CHECK (action IN ('approved', 'rejected', 'edited', 'deleted', 'retried'));
