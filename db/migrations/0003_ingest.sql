-- Issue 3 (safe ingest): an `infected` terminal state, the ClamAV verdict, the sha256 of the upload as received, and
-- the metadata-stripped master that goes on to the transcoder and the archive.
ALTER TABLE videos DROP CONSTRAINT IF EXISTS videos_status_check;
ALTER TABLE videos ADD CONSTRAINT videos_status_check
  CHECK (status IN ('uploaded', 'processing', 'ready', 'failed', 'rejected', 'infected'));
ALTER TABLE videos
  ADD COLUMN scan_result         text CHECK (scan_result IN ('clean', 'infected')),
  ADD COLUMN scan_signature      text,
  ADD COLUMN scanned_at          timestamptz,
  ADD COLUMN source_sha256       text,
  ADD COLUMN quarantine_path     text,
  ADD COLUMN stripped_master_key text,
  ADD COLUMN stripped_sha256     text,
  ADD COLUMN stripped_size_bytes bigint;
