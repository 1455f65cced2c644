-- Captions: one WebVTT track per video and language, each moderated on its own. A caption added to an approved video
-- reaches viewers only once a moderator approved the caption itself (status), whatever the video's state.
-- The vetted, re-serialised WebVTT is kept in the row rather than in object storage: it is small (the parser caps it),
-- it is replaced together with its status in one statement (a new upload can never be served under an old approval),
-- and it goes with the video row on delete without touching the published package, which a re-process clears.
CREATE TABLE video_captions (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  video_id      uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
  lang          text NOT NULL CHECK (lang ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$'),
  label         text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 40),
  source_format text NOT NULL CHECK (source_format IN ('vtt', 'srt')),
  vtt           text NOT NULL,
  cue_count     integer NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  notes         text,
  uploaded_by   text NOT NULL,
  decided_by    text,
  decided_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (video_id, lang)
);
-- The moderators' caption queue walks pending captions oldest first.
CREATE INDEX video_captions_pending_idx ON video_captions (updated_at, id) WHERE status = 'pending';
