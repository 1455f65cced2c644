import { ERRORS } from '@tus/utils';
import { isPipelineError, PipelineError, type ErrorCode } from '../core/errors.ts';
import { diskFullError, isDiskFullError } from './disk-space.ts';

/**
 * Every tus answer with an error status leaves as `{"error": {"code", "message"}}` with a stable code, like the rest of
 * the API: @tus/server's own errors get codes by status, and anything unexpected (a database refusing connections, an
 * errno) becomes a generic code whose message names no host, port or path. The cause is logged, never sent.
 */

/** @tus/server answers with these statuses for protocol problems (its 403s and 415 included); each gets one code. */
const CODE_BY_STATUS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [400, 'INGEST_PROTOCOL_INVALID'],
  [403, 'INGEST_PROTOCOL_INVALID'],
  [404, 'INGEST_UPLOAD_NOT_FOUND'],
  [409, 'INGEST_OFFSET_MISMATCH'],
  [410, 'INGEST_UPLOAD_GONE'],
  [412, 'INGEST_TUS_VERSION'],
  [413, 'INGEST_TOO_LARGE'],
  [415, 'INGEST_PROTOCOL_INVALID'],
  [423, 'INGEST_UPLOAD_BUSY'],
  [501, 'INGEST_PROTOCOL_INVALID'],
]);

/** Connection-level failures of a dependency (node errnos and postgres.js's own connection codes). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** True when `err` says a dependency cannot be reached or is shutting down, i.e. a retry later can succeed. */
export function isUnavailableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNREACHABLE.has(code)) return true;
    // SQLSTATE class 08 (connection exception) and 57P01-57P03 (shutdown, crash, cannot connect now).
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code)) return true;
  }
  // node's happy-eyeballs connect fails with an AggregateError of one error per address.
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isUnavailableError);
}

interface TusStyleError {
  readonly status_code: number;
  readonly body?: unknown;
}

function isTusStyleError(err: unknown): err is TusStyleError {
  return typeof err === 'object' && err !== null && typeof (err as { status_code?: unknown }).status_code === 'number';
}

/** The code for a tus status, with tus's fixed reason text as detail (never for 5xx, whose text may carry internals). */
function fromTusStatus(status: number, text: string, cause?: unknown): PipelineError {
  const code = CODE_BY_STATUS.get(status);
  if (!code) return new PipelineError('INGEST_INTERNAL', 'The upload request failed.', { status }, { cause });
  return new PipelineError(code, text.trim().slice(0, 200) || `tus answered ${status}.`, { status }, { cause });
}

/** What a client is told about `err`: our own errors as they are, everything else mapped to a stable code. */
export function toIngestError(err: unknown): PipelineError {
  if (isPipelineError(err)) return err;
  if (isDiskFullError(err)) return diskFullError('The server ran out of disk space while storing the upload.', err);
  // A lock not granted in time means another request holds the upload: retryable, unlike tus's 500.
  if (err === ERRORS.ERR_LOCK_TIMEOUT) return new PipelineError('INGEST_UPLOAD_BUSY', 'The upload is locked by another request.');
  if (isTusStyleError(err)) return fromTusStatus(err.status_code, String(err.body ?? ''), err);
  if (isUnavailableError(err))
    return new PipelineError('INGEST_UNAVAILABLE', 'A service uploads depend on (the database) is not reachable.', {}, { cause: err });
  return new PipelineError('INGEST_INTERNAL', 'The upload request failed.', {}, { cause: err });
}

export function errorBody(err: PipelineError): string {
  return JSON.stringify({ error: { code: err.code, message: err.message } });
}

function hasErrorCode(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string';
  } catch {
    return false; // plain text from @tus/server: mapped by status below
  }
}

/**
 * Makes an error response JSON: bodies already in our shape (written through onResponseError) only get their
 * Content-Type; @tus/server's plain-text answers that bypass onResponseError (412 without Tus-Resumable, 400 for a
 * malformed header) are rewritten with the code for their status.
 */
export async function asJsonError(res: Response): Promise<Response> {
  if (res.status < 400 || res.headers.get('content-type')?.includes('application/json')) return res;
  const text = await res.text();
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  headers.set('Content-Type', 'application/json');
  if (hasErrorCode(text)) return new Response(text, { status: res.status, headers });
  const err = fromTusStatus(res.status, text);
  return new Response(errorBody(err), { status: err.statusCode, headers });
}
