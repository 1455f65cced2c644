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
    hint: 'The object store returned an error; check S3_*/ARCHIVE_S3_* endpoint, credentials and bucket, and its logs.',
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
  STREAM_API_ERROR: { status: 502, hint: 'Cloudflare Stream rejected the call; check STREAM_ACCOUNT_ID / STREAM_API_TOKEN and the listed errors.' },
  STREAM_RATE_LIMITED: { status: 503, hint: 'Cloudflare Stream kept answering 429 after the retries; lower the offload rate and retry later.' },
  STREAM_VIDEO_FAILED: { status: 422, hint: 'Stream could not encode the video (see errorReasonCode); the self-hosted HLS stays in use.' },
  STREAM_TIMEOUT: { status: 504, hint: 'Stream did not finish in time; the webhook will still update the video when it does.' },
  STREAM_WEBHOOK_INVALID: { status: 401, hint: 'The Webhook-Signature does not match STREAM_WEBHOOK_SECRET; re-fetch the secret via PUT /stream/webhook.' },
  STREAM_WEBHOOK_STALE: { status: 401, hint: 'The webhook time is too far from our clock (replay protection); check NTP on both sides.' },
  STREAM_BAD_SIGNING_KEY: { status: 500, hint: 'Set STREAM_SIGNING_KEY_ID and STREAM_SIGNING_KEY_PEM to a key from POST /stream/keys (PEM or base64 PEM).' },
  INGEST_TOO_LARGE: { status: 413, hint: 'Upload a smaller file or raise MAX_UPLOAD_BYTES.' },
  INGEST_BAD_METADATA: { status: 400, hint: 'Send tus Upload-Metadata with a valid title (1-200 chars).' },
  TRANSCODE_PROBE_FAILED: { status: 422, hint: 'The upload is not a readable video file; upload a real video.' },
  TRANSCODE_NO_VIDEO: { status: 422, hint: 'The file has no video stream; upload a video, not audio or an image.' },
  TRANSCODE_FFMPEG_FAILED: { status: 500, hint: 'See the stderr tail in the error context and the job log.' },
  API_NOT_FOUND: { status: 404, hint: 'Check the id; the video may have been deleted.' },
  API_BAD_REQUEST: { status: 400, hint: 'Fix the request to match the documented schema.' },
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
