/**
 * Every error the pipeline raises on purpose has a stable, namespaced code and the HTTP status that goes with it,
 * defined here in one table (after fastify's lib/errors.js). Tests assert codes, never messages.
 */
export const ERROR_DEFINITIONS = {
  OPS_CONFIG_INVALID: { status: 500, hint: 'Fix the listed environment variables (see README "Configuration").' },
  OPS_FFMPEG_NOT_FOUND: {
    status: 500,
    hint: 'Install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH and FFPROBE_PATH to working binaries.',
  },
  DB_MIGRATION_CHANGED: {
    status: 500,
    hint: 'Migrations are append-only: restore the original file and add a new numbered migration instead.',
  },
  STORAGE_BAD_KEY: { status: 400, hint: 'Storage keys are relative paths without "..", empty or absolute segments.' },
  STORAGE_NOT_FOUND: { status: 404, hint: 'The object does not exist; check the key or whether it was published.' },
  STORAGE_BAD_METADATA: { status: 400, hint: 'Use lowercase [a-z0-9-] metadata names and printable ASCII values (S3 rules).' },
  STORAGE_ABORTED: { status: 500, hint: 'The upload was cancelled; nothing was stored under the key. Retry the job.' },
  STORAGE_BACKEND_FAILED: {
    status: 502,
    hint:
      'The object store returned an error; check S3_*/ARCHIVE_S3_* endpoint, credentials and bucket, and its logs. ' +
      'A store that does not answer (or answers 503/SlowDown) makes a job wait for it without using up attempts.',
  },
  STORAGE_BUCKET_MISSING: { status: 500, hint: 'Create the bucket (or fix S3_BUCKET / ARCHIVE_S3_BUCKET) before starting.' },
  STORAGE_CHECKSUM_MISMATCH: {
    status: 500,
    hint: 'The archived copy does not match the local master; the local copy is kept. Check the archive store and retry.',
  },
  STORAGE_URL_INVALID: { status: 403, hint: 'Use the presigned URL exactly as issued (path, exp and sig unchanged).' },
  STORAGE_URL_EXPIRED: { status: 403, hint: 'The presigned URL has expired; request a new one.' },
  STORAGE_RANGE_INVALID: { status: 416, hint: 'Send a single Range "bytes=start-end" inside the object size.' },
  STORAGE_NOT_ARCHIVED: { status: 409, hint: 'The video has no verified archive copy; archive it before restoring or cleaning.' },
  STREAM_API_ERROR: {
    status: 502,
    hint: 'Cloudflare Stream rejected the call; check STREAM_ACCOUNT_ID / STREAM_API_TOKEN and the listed errors.',
  },
  STREAM_RATE_LIMITED: {
    status: 503,
    hint: 'Cloudflare Stream kept answering 429 after the retries; lower the offload rate and retry later.',
  },
  STREAM_VIDEO_FAILED: { status: 422, hint: 'Stream could not encode the video (see errorReasonCode); the self-hosted HLS stays in use.' },
  STREAM_TIMEOUT: { status: 504, hint: 'Stream did not finish in time; the webhook will still update the video when it does.' },
  STREAM_WEBHOOK_INVALID: {
    status: 401,
    hint: 'The Webhook-Signature does not match STREAM_WEBHOOK_SECRET; re-fetch the secret via PUT /stream/webhook.',
  },
  STREAM_WEBHOOK_STALE: { status: 401, hint: 'The webhook time is too far from our clock (replay protection); check NTP on both sides.' },
  INGEST_TOO_LARGE: { status: 413, hint: 'Upload a smaller file or raise MAX_UPLOAD_BYTES.' },
  INGEST_BAD_METADATA: {
    status: 400,
    hint: 'Send tus Upload-Metadata with a valid title (1-200 chars), an optional passthrough (at most 255 chars, no control characters) and none of the server-owned keys (uploader, videoId).',
  },
  INGEST_QUOTA_OPEN_UPLOADS: {
    status: 429,
    hint:
      'Finish or delete (tus DELETE) one of your unfinished uploads, or wait until it expires (UPLOAD_EXPIRY_HOURS), then retry; ' +
      'operators can raise UPLOAD_MAX_OPEN_PER_USER / UPLOAD_MAX_OPEN_PARTIALS_PER_USER.',
  },
  INGEST_QUOTA_BYTES: {
    status: 413,
    hint: 'Your uploads of the last 24 h reach UPLOAD_MAX_BYTES_PER_DAY; retry once older uploads leave the window, or upload a smaller file.',
  },
  INGEST_TOKEN_MISSING: { status: 401, hint: 'Get a token from POST /api/upload-tokens and send it in the Upload-Token header.' },
  INGEST_TOKEN_INVALID: { status: 401, hint: 'The upload token is malformed or its signature is wrong; request a new one.' },
  INGEST_TOKEN_EXPIRED: { status: 401, hint: 'The upload token has expired; request a new one from POST /api/upload-tokens.' },
  INGEST_CHECKSUM_UNSUPPORTED: { status: 400, hint: 'Send Upload-Checksum as "<sha1|sha256> <base64 digest>".' },
  // 460 is the tus checksum extension's own status for a mismatch; the chunk is discarded.
  INGEST_CHECKSUM_MISMATCH: { status: 460, hint: 'The chunk was corrupted in transit and discarded; resend it from the same offset.' },
  INGEST_CONCAT_INVALID: {
    status: 400,
    hint: 'Upload-Concat final must list complete partial uploads of this server (created with Upload-Concat: partial).',
  },
  INGEST_DISK_FULL: {
    status: 507,
    hint: 'The server is short of disk space; retry later. Operators: free space under DATA_DIR (the upload sweep removes orphaned uploads) or lower DISK_RESERVE_BYTES.',
  },
  // 423, not 503: on a resume tus-js-client retries a HEAD only on 423; any other error makes it drop the upload URL and
  // send the whole file again as a new upload.
  INGEST_FINISH_PENDING: {
    status: 423,
    hint: 'Every byte is stored. Retry the HEAD or the final PATCH (nothing needs to be sent again); the server also finishes the upload on its own once it can.',
  },
  INGEST_UNAVAILABLE: { status: 503, hint: 'Retry in a few seconds.' },
  INGEST_INTERNAL: { status: 500, hint: 'Unexpected server error; the server log has the details (look for the request id).' },
  INGEST_UPLOAD_NOT_FOUND: { status: 404, hint: 'No upload at this URL; create a new upload.' },
  INGEST_UPLOAD_GONE: {
    status: 410,
    hint: 'The upload no longer exists (it expired unfinished, or the video made from it was deleted); create a new upload.',
  },
  INGEST_OFFSET_MISMATCH: {
    status: 409,
    hint: 'Upload-Offset differs from the stored offset; send a HEAD and resume from the offset it reports.',
  },
  INGEST_UPLOAD_BUSY: { status: 423, hint: 'Another request is writing to this upload; retry in a moment.' },
  INGEST_PROTOCOL_INVALID: {
    status: 400,
    hint: 'The request does not follow tus 1.0 (headers, Content-Type or method); use a tus client.',
  },
  INGEST_TUS_VERSION: { status: 412, hint: 'Send "Tus-Resumable: 1.0.0"; this server speaks tus 1.0.0 only.' },
  INGEST_CONTENT_TYPE: { status: 415, hint: 'Send upload bytes as "Content-Type: application/offset+octet-stream" (tus 1.0).' },
  INGEST_RATE_LIMITED: {
    status: 429,
    hint: 'Too many requests for this upload or uploader; retry after the Retry-After seconds. Operators: UPLOAD_RATE_LIMIT_PER_UPLOAD / UPLOAD_RATE_LIMIT_PER_USER.',
  },
  INGEST_NOT_VIDEO_FILE: {
    status: 415,
    hint: 'The first bytes of the upload match no video container (MP4/MOV, MKV/WebM, AVI, MPEG-TS, FLV, MPEG-PS, ASF, Ogg, DV); upload the video file itself.',
  },
  INGEST_EMPTY: { status: 422, hint: 'The upload has zero bytes; upload the video file itself.' },
  INGEST_UNREADABLE: { status: 422, hint: 'ffprobe cannot read the file (not media, or truncated); upload a complete video.' },
  INGEST_UNSUPPORTED_CONTAINER: {
    status: 422,
    hint: 'Upload the video file itself (MP4/MOV, MKV/WebM, AVI, MPEG-TS, FLV, MPEG-PS, ASF, Ogg, DV); playlists, manifests and scripts are refused.',
  },
  INGEST_NOT_VIDEO: { status: 422, hint: 'The file has no video stream (audio, image or other data); upload a video.' },
  INGEST_BAD_DIMENSIONS: { status: 422, hint: 'The video stream has implausible dimensions; upload a normal video.' },
  INGEST_BAD_DURATION: { status: 422, hint: 'The video has no usable duration; upload a complete video.' },
  INGEST_TOO_LONG: { status: 422, hint: 'The video is longer than MAX_DURATION_SEC allows; upload a shorter one.' },
  INGEST_TRUNCATED: { status: 422, hint: 'The file ends before its media data does (truncated); upload the complete file.' },
  INGEST_INFECTED: { status: 422, hint: 'ClamAV found malware; the file is quarantined and will not be processed.' },
  INGEST_SCAN_UNAVAILABLE: {
    status: 503,
    hint:
      'clamd is not reachable; start clamav-daemon or fix CLAMD_SOCKET / CLAMD_HOST / CLAMD_PORT. The video waits for clamd ' +
      '(stage "waiting", no attempt used up, tries backing off to DEPENDENCY_BACKOFF_MAX_MS) and is scanned once it answers; ' +
      'a scan clamd drops half-way uses one attempt.',
  },
  INGEST_SCAN_FAILED: { status: 500, hint: 'clamd answered with an error (e.g. StreamMaxLength too small); see the context.' },
  INGEST_SOURCE_CHANGED: {
    status: 500,
    hint: 'The upload changed between the virus scan and processing; the job retries and scans it again.',
  },
  INGEST_STRIP_FAILED: { status: 500, hint: 'ffmpeg could not remux the upload without metadata; see the stderr tail.' },
  TRANSCODE_PROBE_FAILED: { status: 422, hint: 'The upload is not a readable video file; upload a real video.' },
  TRANSCODE_NO_VIDEO: { status: 422, hint: 'The file has no video stream; upload a video, not audio or an image.' },
  TRANSCODE_FFMPEG_FAILED: { status: 500, hint: 'See the stderr tail in the error context and the job log.' },
  TRANSCODE_SOURCE_MISSING: {
    status: 500,
    hint:
      'The upload or master is not where the job says (local path or bucket key): with STORAGE_DRIVER=local every worker ' +
      "must mount the API's DATA_DIR; with s3 check the bucket and that nothing deleted incoming/ or masters/ objects.",
  },
  TRANSCODE_SOURCE_CORRUPT: {
    status: 422,
    hint: 'The file stops decoding part-way (damaged or truncated upload); re-export or re-upload the original video.',
  },
  TRANSCODE_CANCELLED: {
    status: 409,
    hint: 'The transcode was cancelled on request; a moderator or admin can queue it again with POST /api/videos/:id/retry.',
  },
  TRANSCODE_POOL_START_FAILED: {
    status: 500,
    hint: 'No ffmpeg pool thread could start; check the worker log for the thread error (tsx installed? memory?).',
  },
  TRANSCODE_POOL_CLOSED: { status: 503, hint: 'The worker is shutting down; the job is retried by another worker.' },
  PACKAGE_BAD_RENDITION: {
    status: 500,
    hint: 'The transcoder output is incomplete or not fMP4 HLS (see context.file); re-run the job, and check the ffmpeg log if it repeats.',
  },
  PACKAGE_BAD_PLAYLIST: { status: 500, hint: 'The file is not an HLS playlist (no #EXTM3U first line); check what wrote it.' },
  PACKAGE_CHUNKS_INCOMPLETE: {
    status: 500,
    hint: 'The stitch got chunk results with gaps, overlaps or a missing chunk; re-run the missing chunk jobs, then the stitch.',
  },
  PACKAGE_ARTWORK_FAILED: { status: 500, hint: 'ffmpeg produced no frames for posters/storyboard; check the source with ffprobe.' },
  API_NOT_FOUND: { status: 404, hint: 'Check the id; the video may have been deleted.' },
  // 404 rather than a video row in an "uploading" state: a row exists exactly when every byte is stored, which the
  // reconciler, lists and moderation queue rely on; this code only tells the uploader the id is theirs and on its way.
  API_VIDEO_UPLOADING: {
    status: 404,
    hint: 'The id was reserved when the upload was created, but the upload has not finished; resume it (tus HEAD, then PATCH). The video exists once its last byte is stored.',
  },
  API_INTERNAL: { status: 500, hint: 'Unexpected server error; the server log has the details (look for the request id).' },
  API_BAD_REQUEST: { status: 400, hint: 'Fix the request to match the documented schema.' },
  API_RATE_LIMITED: { status: 429, hint: 'Slow down; retry after the number of seconds in the Retry-After header.' },
  API_ARCHIVE_UNAVAILABLE: { status: 409, hint: 'No archive store is configured; delete without ?archive=true.' },
  API_RETRY_NOT_FAILED: {
    status: 409,
    hint: 'Only videos in status failed can be retried; rejected and infected are verdicts on the file (upload a new one), others are still on their way or done.',
  },
  API_RETRY_SOURCE_MISSING: {
    status: 409,
    hint: 'Neither the stripped master nor the upload is left on the data volume; if the master was archived, `npm run restore -- <id>` re-transcodes it, otherwise upload the video again.',
  },
  AUTH_MISSING_TOKEN: { status: 401, hint: 'Send "Authorization: Bearer <access token>".' },
  AUTH_INVALID_TOKEN: {
    status: 401,
    hint: 'The access token is malformed, expired, lacks exp, lives longer than JWT_MAX_LIFETIME_SEC or is signed by another key; sign in again.',
  },
  AUTH_NOT_CONFIGURED: { status: 503, hint: 'Set JWT_SECRET or JWT_PUBLIC_KEY so the API can verify access tokens.' },
  AUTH_FORBIDDEN: { status: 403, hint: 'Your role may not do this; ask an admin for the needed role.' },
  MODERATION_NOT_READY: {
    status: 409,
    hint: 'Only videos that finished processing (status ready) can be approved; rejecting works at any time.',
  },
  PLAYBACK_NOT_APPROVED: { status: 403, hint: 'The video is not approved for viewers (yet); moderators can preview it.' },
  PLAYBACK_SIGNATURE_MISSING: { status: 403, hint: 'Request playback URLs from the API; HLS files need a ?sig= parameter.' },
  PLAYBACK_SIGNATURE_INVALID: { status: 403, hint: 'The signature does not match this video; request a fresh playback URL.' },
  PLAYBACK_SIGNATURE_EXPIRED: { status: 403, hint: 'The playback URL expired; request a fresh one from the API.' },
  PLAYBACK_PATH_INVALID: { status: 403, hint: 'HLS paths are plain relative names inside the video package.' },
  PLAYBACK_REJECTED: {
    status: 403,
    hint: 'A moderator rejected this video: it plays for moderators only. Read the moderation notes, or upload a new video.',
  },
  PLAYBACK_REVOKED: {
    status: 403,
    hint: 'The video was rejected, re-processed or cancelled after this link was issued; request a fresh one from /api/playback/:id.',
  },
  WEBHOOK_DELIVERY_FAILED: { status: 502, hint: 'The receiver did not answer 2xx; it is retried with backoff (see webhook_deliveries).' },
  OPS_BACKUP_FAILED: { status: 500, hint: 'Check DATABASE_URL, that pg_dump matches the server major version, and the stderr tail.' },
  OPS_BACKUP_NOT_FOUND: { status: 404, hint: 'List backups with `npm run restore-db -- --list` and pass an existing id.' },
  OPS_BACKUP_CHECKSUM_MISMATCH: {
    status: 500,
    hint: 'The archived dump is damaged or was altered; nothing was restored. Restore an older backup.',
  },
  OPS_BACKUP_KEY_MISSING: { status: 500, hint: 'The backup is encrypted: set BACKUP_ENCRYPTION_KEY to the key it was made with.' },
  OPS_BACKUP_KEY_MISMATCH: {
    status: 500,
    hint: 'BACKUP_ENCRYPTION_KEY is not the key this backup was made with (compare the manifest keyId); use the old key.',
  },
  OPS_RESTORE_FAILED: {
    status: 500,
    hint: 'pg_restore failed; see the stderr tail. The target database was left unchanged (single transaction).',
  },
  // Taking a moderation decision back. Undo is a short grace period for a misclick, not a second review: only the
  // moderator who decided, only while the decision is the video's latest change, and only for UNDO_WINDOW seconds.
  MODERATION_UNDO_EXPIRED: {
    status: 409,
    hint: 'The undo window of this decision has passed; decide again instead (approve or reject the video).',
  },
  MODERATION_UNDO_NOT_YOURS: { status: 403, hint: 'Only the moderator who took a decision can undo it; decide again instead.' },
  MODERATION_NOTHING_TO_UNDO: {
    status: 409,
    hint: 'The video has no decision to undo, or something changed after it (an edit, another decision); reload the video.',
  },
  // Captions (WebVTT/SRT per language) and progressive downloads.
  INGEST_CAPTION_TYPE: {
    status: 415,
    hint: 'Send the caption file as the request body with Content-Type text/vtt (WebVTT) or application/x-subrip (SRT).',
  },
  INGEST_CAPTION_TOO_LARGE: {
    status: 413,
    hint: 'Caption files are capped in bytes, cues, lines per cue and characters per line (see context.limit); split long lines or trim the file.',
  },
  INGEST_CAPTION_ENCODING: { status: 422, hint: 'Save the caption file as UTF-8 text without control characters (a BOM is fine).' },
  INGEST_CAPTION_INVALID: {
    status: 422,
    hint: 'The file does not follow WebVTT (or SRT) syntax at context.line; check the header, the timing lines and the blank line after each cue.',
  },
  INGEST_CAPTION_MARKUP: {
    status: 422,
    hint: 'Cue text may use only the WebVTT tags c, i, b, u, ruby, rt, v, lang and timestamps; no HTML, no STYLE with url() or @import, only spec REGION and cue settings.',
  },
  INGEST_CAPTION_TIMING: {
    status: 422,
    hint: 'Every cue must end after it starts and within the video duration; fix the cue at context.line.',
  },
  INGEST_CAPTION_VIDEO_PENDING: {
    status: 409,
    hint: 'Cue times are checked against the video length, which is known once the upload has been probed; retry in a moment.',
  },
  PACKAGE_DOWNLOAD_FAILED: {
    status: 500,
    hint: 'ffmpeg could not remux the published segments into one MP4 (see the stderr tail); check the package with the validator.',
  },
  PLAYBACK_DOWNLOAD_DISABLED: {
    status: 403,
    hint: 'Downloads are for the video owner (and moderators); this deployment does not offer them to viewers (DOWNLOADS_FOR_VIEWERS).',
  },
  // Viewing analytics: beacons from the player (api/analytics/).
  ANALYTICS_SESSION_INVALID: {
    status: 403,
    hint: 'The analytics session does not match this video or was not issued by this server; send the analyticsSession of a playback answer.',
  },
  ANALYTICS_SESSION_EXPIRED: { status: 403, hint: 'The analytics session expired; the next playback answer carries a fresh one.' },
  ANALYTICS_BATCH_TOO_LARGE: { status: 413, hint: 'Send at most 50 events and 16 KiB per beacon; flush more often.' },
  ANALYTICS_RATE_LIMITED: {
    status: 429,
    hint: 'Too many beacons for this session; batch events (one beacon per heartbeat). Operators: ANALYTICS_SESSION_RATE_MAX.',
  },
  // Personal data (export, erasure) and the watermark.
  API_ERASURE_BUSY: {
    status: 503,
    hint: 'A transcode of one of the videos did not stop in time, so nothing was erased yet; send the same request again in a minute.',
  },
  API_EXPORT_TOO_LARGE: {
    status: 413,
    hint: 'A master is 4 GiB or larger, more than the export zip can hold; export without masters=true and ask support for the file.',
  },
  OPS_WATERMARK_INVALID: {
    status: 500,
    hint: 'WATERMARK_PATH must name a readable PNG image (one frame, at most 4096×4096); fix the file or unset WATERMARK_PATH.',
  },
} as const satisfies Record<string, { status: number; hint: string }>;

export type ErrorCode = keyof typeof ERROR_DEFINITIONS;

/** The one error class of the pipeline: a code, its HTTP status, readonly context and a message that says how to fix it. */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, detail: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const def = ERROR_DEFINITIONS[code];
    super(`${code}: ${detail} ${def.hint}`, options);
    this.code = code;
    this.statusCode = def.status;
    this.context = Object.freeze({ ...context });
  }
}

export function isPipelineError(err: unknown, code?: ErrorCode): err is PipelineError {
  return err instanceof PipelineError && (code === undefined || err.code === code);
}

/** Turns anything thrown into a message string without losing non-Error values. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
