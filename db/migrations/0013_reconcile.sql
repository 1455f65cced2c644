-- PostgreSQL is the source of truth for every video's state; Redis only carries the work. The reconciler re-queues
-- unfinished videos whose job Redis lost, and reports videos that stopped moving.
--
-- heartbeat_at: written by the worker running the video's job, every half JOB_LOCK_MS (as BullMQ renews its lock).
-- A job that is still running after Redis lost it has no BullMQ state to look at; a fresh heartbeat tells the
-- reconciler that a worker is on it, so it is not queued a second time. Not part of updated_at: a heartbeat is no
-- progress, and a hung job must still count as stuck.
-- stuck_reported_at: when the stuck check last logged the video; it logs again only after the row changed since.
ALTER TABLE videos
  ADD COLUMN heartbeat_at      timestamptz,
  ADD COLUMN stuck_reported_at timestamptz;
-- Both the reconciler and the stuck check read unfinished videos only: a small partial index, whatever the table size.
CREATE INDEX videos_unfinished_idx ON videos (updated_at) WHERE status IN ('uploaded', 'processing');
