-- Moderation-bound playback. Every signed HLS URL carries the video's access epoch at the time it was issued; the API
-- serves a file only while the row still has that epoch. Bumping it therefore revokes every outstanding URL at once,
-- including after approve -> reject -> approve, where the moderation status alone would make old links valid again.
ALTER TABLE videos ADD COLUMN access_epoch integer NOT NULL DEFAULT 0;

-- The bump lives in the database, not in each caller, so no code path that revokes access (moderator reject, a
-- cancelled or failed job, a re-process started by the worker or the restore tool) can forget it. Leaving 'uploaded'
-- is not a revocation: no URL can exist before the first package is published. Reaching 'ready' is not one either, so
-- a preview that started while the video transcoded keeps playing when it turns ready.
CREATE FUNCTION videos_bump_access_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.moderation_status = 'rejected' AND OLD.moderation_status IS DISTINCT FROM 'rejected')
     OR (NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'ready' AND OLD.status <> 'uploaded') THEN
    NEW.access_epoch := OLD.access_epoch + 1;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER videos_access_epoch BEFORE UPDATE OF status, moderation_status ON videos
  FOR EACH ROW EXECUTE FUNCTION videos_bump_access_epoch();
