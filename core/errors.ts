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
  INGEST_TOO_LARGE: { status: 413, hint: 'Upload a smaller file or raise MAX_UPLOAD_BYTES.' },
  INGEST_BAD_METADATA: { status: 400, hint: 'Send tus Upload-Metadata with a valid title (1-200 chars).' },
  TRANSCODE_PROBE_FAILED: { status: 422, hint: 'The upload is not a readable video file; upload a real video.' },
  TRANSCODE_NO_VIDEO: { status: 422, hint: 'The file has no video stream; upload a video, not audio or an image.' },
  TRANSCODE_FFMPEG_FAILED: { status: 500, hint: 'See the stderr tail in the error context and the job log.' },
  API_NOT_FOUND: { status: 404, hint: 'Check the id; the video may have been deleted.' },
  API_BAD_REQUEST: { status: 400, hint: 'Fix the request to match the documented schema.' },
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
  OPS_RESTORE_FAILED: { status: 500, hint: 'pg_restore failed; see the stderr tail. The target database was left unchanged (single transaction).' },
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
