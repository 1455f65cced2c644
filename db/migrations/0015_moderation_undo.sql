-- A decision can be taken back for a short while (POST /api/moderation/videos/:id/undo), and an uploader's edit of an
-- approved video sends it back for review. Both take an approval away, so leaving 'approved' is now a revocation too:
-- every signed URL handed out while the video was approved must die at once, like after a rejection, so a child who
-- opened it in those seconds does not keep watching a video that is no longer cleared. The rest of the rule is 0008's.
CREATE OR REPLACE FUNCTION videos_bump_access_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.moderation_status = 'rejected' AND OLD.moderation_status IS DISTINCT FROM 'rejected')
     OR (OLD.moderation_status = 'approved' AND NEW.moderation_status IS DISTINCT FROM 'approved')
     OR (NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'ready' AND OLD.status <> 'uploaded') THEN
    NEW.access_epoch := OLD.access_epoch + 1;
  END IF;
  RETURN NEW;
END;
$$;

-- An undone decision is audited like the decision itself.
ALTER TABLE moderation_audit DROP CONSTRAINT moderation_audit_action_check;
ALTER TABLE moderation_audit ADD CONSTRAINT moderation_audit_action_check
  CHECK (action IN ('approved', 'rejected', 'edited', 'deleted', 'retried', 'undone'));

-- Receivers that acted on video.approved / video.rejected learn that the decision no longer stands.
ALTER TABLE webhook_outbox DROP CONSTRAINT webhook_outbox_event_type_check;
ALTER TABLE webhook_outbox ADD CONSTRAINT webhook_outbox_event_type_check CHECK (event_type IN
  ('video.created', 'video.ready', 'video.failed', 'video.approved', 'video.rejected', 'video.deleted',
   'video.returned_to_review'));
