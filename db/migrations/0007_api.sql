-- Issue 7 (API): moderation audit log, webhook delivery log, and the index the uploader's video list walks.

-- Every moderation decision (and deletion) leaves one row. No foreign key to videos: the log must outlive a deleted
-- video. Append-only is enforced in the database (not just by convention) so no code path can rewrite history.
CREATE TABLE moderation_audit (
  id          bigserial PRIMARY KEY,
  video_id    uuid NOT NULL,
  action      text NOT NULL CHECK (action IN ('approved', 'rejected', 'edited', 'deleted')),
  actor       text NOT NULL,
  actor_role  text NOT NULL,
  notes       text,
  from_status text,
  to_status   text,
  request_id  text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_audit_video_idx ON moderation_audit (video_id, id);

CREATE FUNCTION moderation_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'moderation_audit is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER moderation_audit_no_update_delete BEFORE UPDATE OR DELETE ON moderation_audit
  FOR EACH ROW EXECUTE FUNCTION moderation_audit_append_only();
CREATE TRIGGER moderation_audit_no_truncate BEFORE TRUNCATE ON moderation_audit
  FOR EACH STATEMENT EXECUTE FUNCTION moderation_audit_append_only();

-- One row per delivery attempt of an outgoing webhook.
CREATE TABLE webhook_deliveries (
  id          bigserial PRIMARY KEY,
  event_id    uuid NOT NULL,
  event_type  text NOT NULL,
  url         text NOT NULL,
  attempt     integer NOT NULL,
  status_code integer,
  ok          boolean NOT NULL,
  error       text,
  duration_ms integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id, id);

-- Keyset pagination of lists (newest first), per uploader and for everyone.
CREATE INDEX videos_uploader_created_idx ON videos (uploader_id, created_at DESC, id DESC);
CREATE INDEX videos_created_idx ON videos (created_at DESC, id DESC);
