-- Viewing analytics. The player's beacons land in analytics_events (raw, kept ANALYTICS_RAW_RETENTION_DAYS days), and
-- are rolled up into video_analytics, one row per video and UTC day, which is kept as long as the video.
--
-- What a raw row holds, and nothing else (README "Viewing analytics"): the video, the UTC day the playback session was
-- issued, a 16-byte session hash (HMAC of the session's random nonce under a salt that changes every day), the event
-- kind, its sequence number and client-side time, and playback facts (position, rung, bitrate, stall length, error
-- code). No IP address, user agent, user id, referrer or the session token itself: viewers are children.
-- No foreign key to videos: an insert per beacon must stay cheap, and rows of a deleted video simply expire.
CREATE TABLE analytics_events (
  video_id     uuid        NOT NULL,
  day          date        NOT NULL,
  session      bytea       NOT NULL CHECK (octet_length(session) = 16),
  seq          integer     NOT NULL CHECK (seq >= 0),
  kind         text        NOT NULL CHECK (kind IN ('start', 'heartbeat', 'seek', 'quality', 'stall', 'error', 'end')),
  at_ms        integer     NOT NULL CHECK (at_ms >= 0),
  data         jsonb       NOT NULL DEFAULT '{}',
  received_at  timestamptz NOT NULL DEFAULT now()
);
-- Roll-ups read one video's day at a time and ask whether anything arrived since the last roll-up.
CREATE INDEX analytics_events_video_day_idx ON analytics_events (video_id, day, received_at);
-- Expiry deletes whole days.
CREATE INDEX analytics_events_day_idx ON analytics_events (day);

-- Counts rather than ratios wherever a number must add up across days or videos (totals): rates and the retention
-- curve are computed when read. startup_hist counts sessions per startup-time bucket (bounds in api/analytics/rollup.ts)
-- so percentiles over several rows can be estimated; the day's exact p50/p95 are stored beside it.
CREATE TABLE video_analytics (
  video_id         uuid        NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
  day              date        NOT NULL,
  sessions         integer     NOT NULL,
  views            integer     NOT NULL,
  completed        integer     NOT NULL,
  watch_sec        double precision NOT NULL,
  retention_base   integer     NOT NULL,
  retention        integer[]   NOT NULL,
  startup_count    integer     NOT NULL,
  startup_p50_ms   integer,
  startup_p95_ms   integer,
  startup_hist     integer[]   NOT NULL,
  stall_sec        double precision NOT NULL,
  stalls           integer     NOT NULL,
  bitrate_sec      double precision NOT NULL,
  rungs            jsonb       NOT NULL,
  quality_switches integer     NOT NULL,
  seeks            integer     NOT NULL,
  errors           integer     NOT NULL,
  error_sessions   integer     NOT NULL,
  -- Every raw event received up to this instant is counted in the row (see AnalyticsStore.refresh).
  covered_until    timestamptz NOT NULL,
  PRIMARY KEY (video_id, day)
);
CREATE INDEX video_analytics_day_idx ON video_analytics (day);
