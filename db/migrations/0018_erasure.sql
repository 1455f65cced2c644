-- Erasure of a user (GDPR Art. 17). Their videos, files and rows are deleted; what stays is the moderation audit,
-- which a platform for children must keep to show how each video was judged (Art. 17(3)(b) and (e): legal obligation,
-- defence of legal claims). The audit keeps the decision (action, statuses, the staff role, the time) and loses the
-- person: the video id becomes a keyed pseudonym, an actor who is the erased user becomes one too, the free-text notes
-- about their videos and the request id (which joins to logs holding IP addresses) are dropped.
--
-- Append-only stays enforced in the database: DELETE and TRUNCATE are still refused, and the one UPDATE allowed is that
-- pseudonymisation, with every fact of the decision unchanged: the video id changes once (the uploader's erasure), an
-- actor only to a pseudonym (a row about one user's video can later lose the staff member who judged it, when that
-- account is erased too), notes only to nothing. No code path can rewrite a decision.
ALTER TABLE moderation_audit ADD COLUMN pseudonymised_at timestamptz;

CREATE FUNCTION moderation_audit_pseudonymise_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.pseudonymised_at IS NOT NULL
     AND (NEW.video_id = OLD.video_id OR OLD.pseudonymised_at IS NULL)
     AND NEW.id = OLD.id AND NEW.action = OLD.action AND NEW.actor_role = OLD.actor_role
     AND NEW.from_status IS NOT DISTINCT FROM OLD.from_status AND NEW.to_status IS NOT DISTINCT FROM OLD.to_status
     AND NEW.created_at = OLD.created_at AND NEW.request_id IS NULL
     AND (NEW.notes IS NULL OR NEW.notes = OLD.notes)
     AND (NEW.actor = OLD.actor OR (NEW.actor LIKE 'erased:%' AND OLD.actor NOT LIKE 'erased:%')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'moderation_audit is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER moderation_audit_no_update_delete ON moderation_audit;
CREATE TRIGGER moderation_audit_no_update_delete BEFORE UPDATE OR DELETE ON moderation_audit
  FOR EACH ROW EXECUTE FUNCTION moderation_audit_pseudonymise_only();
