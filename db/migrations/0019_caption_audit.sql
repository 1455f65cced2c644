-- A caption is text shown to children: approving or rejecting one is a moderation decision like a video's, so it is
-- audited in the same append-only log, with the caption's language. Adding a nullable column rewrites no row, so the
-- append-only trigger (UPDATE/DELETE/TRUNCATE) is not involved.
ALTER TABLE moderation_audit ADD COLUMN caption_lang text;
ALTER TABLE moderation_audit DROP CONSTRAINT moderation_audit_action_check;
ALTER TABLE moderation_audit ADD CONSTRAINT moderation_audit_action_check
  CHECK (action IN ('approved', 'rejected', 'edited', 'deleted', 'retried', 'undone', 'caption_approved', 'caption_rejected'));
ALTER TABLE moderation_audit ADD CONSTRAINT moderation_audit_caption_lang_check
  CHECK ((caption_lang IS NOT NULL) = (action IN ('caption_approved', 'caption_rejected')));

-- The one UPDATE the audit allows (an erasure's pseudonymisation, 0018) keeps this fact too.
CREATE OR REPLACE FUNCTION moderation_audit_pseudonymise_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.pseudonymised_at IS NOT NULL
     AND (NEW.video_id = OLD.video_id OR OLD.pseudonymised_at IS NULL)
     AND NEW.id = OLD.id AND NEW.action = OLD.action AND NEW.actor_role = OLD.actor_role
     AND NEW.from_status IS NOT DISTINCT FROM OLD.from_status AND NEW.to_status IS NOT DISTINCT FROM OLD.to_status
     AND NEW.caption_lang IS NOT DISTINCT FROM OLD.caption_lang
     AND NEW.created_at = OLD.created_at AND NEW.request_id IS NULL
     AND (NEW.notes IS NULL OR NEW.notes = OLD.notes)
     AND (NEW.actor = OLD.actor OR (NEW.actor LIKE 'erased:%' AND OLD.actor NOT LIKE 'erased:%')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'moderation_audit is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
