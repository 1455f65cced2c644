-- Transactional outbox of webhook events. The state change that causes an event (ready, failed, approved, rejected)
-- inserts its row in the same transaction, so an event exists exactly when its change committed, whatever Redis is
-- doing at that moment. A relay in the worker processes moves pending rows into the BullMQ webhook queue (job ids
-- derived from the row id, so a relay that crashes between queueing and marking cannot queue an event twice) and
-- sets relayed_at. The row id is the event id receivers see.
CREATE TABLE webhook_outbox (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_type  text NOT NULL CHECK (event_type IN ('video.ready', 'video.failed', 'video.approved', 'video.rejected')),
  video_id    uuid NOT NULL,
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  relayed_at  timestamptz
);
-- The relay reads only pending rows, oldest first; relayed rows are kept a while for support, then pruned.
CREATE INDEX webhook_outbox_pending_idx ON webhook_outbox (created_at) WHERE relayed_at IS NULL;
CREATE INDEX webhook_outbox_relayed_idx ON webhook_outbox (relayed_at) WHERE relayed_at IS NOT NULL;
