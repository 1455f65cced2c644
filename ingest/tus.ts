import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server, type Upload } from '@tus/server';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { QuotaCloseReason, UploadQuota } from '../core/upload-quota.ts';
import { CHECKSUM_ALGORITHMS, CHECKSUM_HEADER, checksumScope, parseChecksumHeader } from './checksum.ts';
import { createFinalUpload, parseFinalConcat } from './concat.ts';
import { isPartialId, PARTIAL_PREFIX, SafeFileStore } from './safe-file-store.ts';
import { assertNoServerKeys, parseVideoMetadata } from './upload-metadata.ts';
import { UPLOAD_TOKEN_HEADER, type UploadTokenClaims, type UploadTokens } from './upload-token.ts';

export interface FinishedUpload {
  readonly id: string;
  /** Absolute path of the complete file. */
  readonly path: string;
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface TusIngestOptions {
  /** Directory the file store writes uploads to. */
  readonly uploadDir: string;
  /** URL path the endpoint is mounted at, e.g. `/uploads`. */
  readonly path: string;
  /** Largest accepted upload in bytes; larger ones are refused at creation with 413. */
  readonly maxSize: number;
  /** Verifies the Upload-Token every creation (POST) needs. */
  readonly tokens: UploadTokens;
  /** Unfinished uploads expire this long after creation; 0 = never. */
  readonly expirationMs: number;
  /**
   * Per-uploader limits on open uploads and bytes per day, checked at creation (db/upload-quota.ts); default none,
   * i.e. no limits (the app always passes one; the ingest benchmark does not).
   */
  readonly quota?: UploadQuota;
  readonly logger: Logger;
  /** Clock for expiry decisions; default Date.now. */
  readonly now?: () => number;
  /**
   * Called once the last byte of a (non-partial) upload is stored, before the client gets its final response; returns
   * the video id, sent back in the `Video-Id` header. Must be idempotent: a client may repeat the final PATCH.
   */
  readonly onFinished: (upload: FinishedUpload) => Promise<{ videoId: string }>;
}

export const VIDEO_ID_HEADER = 'Video-Id';
/** Metadata key the server sets to the token's subject; clients may not send it. */
export const UPLOADER_KEY = 'uploader';

function cleanMetadata(m: Upload['metadata']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** JSON error body in the API's shape, so tus clients and tests read the same stable codes as every other route. */
function errorBody(err: PipelineError): string {
  return JSON.stringify({ error: { code: err.code, message: err.message } });
}

/**
 * The tus endpoint: @tus/server v2 on a SafeFileStore, with upload tokens, zod-validated metadata, and the checksum
 * and concatenation extensions that @tus/server does not implement, handled in front of it.
 */
export class TusIngest {
  readonly server: Server;
  readonly store: SafeFileStore;
  readonly #o: TusIngestOptions;
  /** Claims of the creation request being handled (set in onIncomingRequest, read in onUploadCreate). */
  readonly #claims = new WeakMap<object, UploadTokenClaims>();
  /** Upload id whose quota slot a creation request took (set in onUploadCreate), to give it back if creation fails. */
  readonly #reserved = new WeakMap<object, string>();

  constructor(o: TusIngestOptions) {
    this.#o = o;
    this.store = new SafeFileStore({ directory: o.uploadDir, expirationMs: o.expirationMs, now: o.now });
    this.server = new Server({
      path: o.path,
      datastore: this.store,
      maxSize: o.maxSize,
      relativeLocation: true,
      exposedHeaders: [VIDEO_ID_HEADER],
      allowedHeaders: [UPLOAD_TOKEN_HEADER, CHECKSUM_HEADER],
      // A finished upload belongs to the pipeline; the client may no longer delete it under a running job.
      disableTerminationForFinishedUploads: true,
      namingFunction: (req) => (req.headers.get('upload-concat') === 'partial' ? PARTIAL_PREFIX : '') + randomId(),
      onIncomingRequest: async (req) => {
        if (req.method === 'POST') this.#claims.set(req, this.#authorize(req.headers.get(UPLOAD_TOKEN_HEADER)));
      },
      onUploadCreate: async (req, upload) => {
        const claims = this.#claims.get(req);
        const metadata = this.#prepareMetadata(upload, claims);
        await this.#reserve(req, upload, claims);
        return { metadata };
      },
      onUploadFinish: async (_req, upload) => {
        // A finished partial still counts as open (it holds disk) until a final upload consumes it.
        await this.#o.quota?.recordSize(upload.id, upload.size ?? upload.offset);
        if (isPartialId(upload.id)) return {};
        await this.#o.quota?.release([upload.id], 'finished');
        const { videoId } = await this.#finish(upload);
        return { headers: { [VIDEO_ID_HEADER]: videoId } };
      },
      onResponseError: (_req, err) => {
        if (isPipelineError(err)) return { status_code: err.statusCode, body: errorBody(err) };
        if (err instanceof Error) o.logger.error({ err }, 'tus request failed');
        return undefined;
      },
    });
  }

  /** Node entry point (fastify hands over the raw request after hijacking the reply). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const response = await this.handleWeb(new NodeRequest({ req, res }));
    await sendNodeResponse(res, response);
  }

  async handleWeb(req: Request): Promise<Response> {
    try {
      // Downloading an upload is not part of tus; raw uploads may be infected or carry GPS tags.
      if (req.method === 'GET') throw new PipelineError('API_NOT_FOUND', 'Uploads cannot be downloaded.');
      const concat = req.headers.get('upload-concat');
      if (req.method === 'POST' && concat?.startsWith('final;')) return await this.#createFinal(req, concat);
      if (req.method === 'POST') this.#checkDeclaredSize(req);
      const checksum = req.headers.get(CHECKSUM_HEADER);
      if (req.method === 'PATCH' && checksum !== null) {
        const expected = parseChecksumHeader(checksum);
        return await checksumScope.run(expected, () => this.server.handleWeb(req));
      }
      const res = await this.server.handleWeb(req);
      if (req.method === 'POST') await this.#undoFailedReservation(req, res);
      if (req.method === 'DELETE' && res.status === 204) await this.#releaseQuietly([uploadIdOf(req)], 'terminated');
      if (req.method === 'OPTIONS') res.headers.set('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','));
      return res;
    } catch (err) {
      if (isPipelineError(err)) return this.#errorResponse(req, err);
      // tus-style errors ({status_code, body}) from the store, e.g. FILE_NOT_FOUND during concatenation.
      const tusErr = err as { status_code?: unknown; body?: unknown };
      if (typeof tusErr.status_code === 'number') {
        return new Response(String(tusErr.body ?? ''), { status: tusErr.status_code, headers: this.#baseHeaders(req) });
      }
      this.#o.logger.error({ err }, 'tus front handler failed');
      return new Response('Internal error; see server logs.\n', { status: 500, headers: this.#baseHeaders(req) });
    }
  }

  /** Deletes expired unfinished uploads; never a finished one (see SafeFileStore.deleteExpired). */
  cleanUpExpired(): Promise<number> {
    return this.server.cleanUpExpiredUploads();
  }

  #authorize(token: string | null): UploadTokenClaims {
    return this.#o.tokens.verify(token);
  }

  #prepareMetadata(upload: Upload, claims: UploadTokenClaims | undefined): Upload['metadata'] {
    assertNoServerKeys(upload.metadata);
    // Partials carry no video metadata (tus-js-client's metadataForPartialUploads); the final upload does.
    if (!isPartialId(upload.id)) parseVideoMetadata(upload.metadata);
    return withUploader(upload.metadata, claims?.sub);
  }

  /** Takes a quota slot for the upload (throws INGEST_QUOTA_*), after its metadata passed validation. */
  async #reserve(req: Request, upload: Upload, claims: UploadTokenClaims | undefined): Promise<void> {
    if (!this.#o.quota) return;
    await this.#o.quota.reserve({
      uploadId: upload.id,
      uploader: claims?.sub ?? '',
      kind: isPartialId(upload.id) ? 'partial' : 'upload',
      // A deferred length counts as the largest allowed upload until the real size is known.
      bytes: upload.size ?? this.#o.maxSize,
    });
    this.#reserved.set(req, upload.id);
  }

  /**
   * A creation that failed after taking its slot gives it back, unless the upload exists anyway (creation-with-upload
   * whose body broke off): the client can resume that one, so it keeps counting.
   */
  async #undoFailedReservation(req: Request, res: Response): Promise<void> {
    const id = this.#reserved.get(req);
    if (id === undefined || res.status < 400) return;
    const exists = await this.store.getUpload(id).then(
      () => true,
      () => false,
    );
    if (!exists) await this.#releaseQuietly([id], 'failed');
  }

  /** Releases quota slots once the uploads are gone; a failure only leaves them counted until they expire. */
  async #releaseQuietly(ids: readonly string[], reason: QuotaCloseReason): Promise<void> {
    await this.#o.quota?.release(ids, reason).catch((err: unknown) => {
      this.#o.logger.error({ err, ids, reason }, 'upload quota release failed');
    });
  }

  async #finish(upload: Upload): Promise<{ videoId: string }> {
    return this.#o.onFinished({
      id: upload.id,
      path: this.store.pathOf(upload.id),
      size: upload.size ?? upload.offset,
      metadata: cleanMetadata(upload.metadata),
    });
  }

  /**
   * The final upload needs no token: every partial was created with one and their URLs are the capability, like a
   * PATCH. That matters: a long parallel upload outlives the short token, and refusing the final POST then would lose
   * the whole upload. The uploader is the one the partials were created for.
   */
  async #createFinal(req: Request, concat: string): Promise<Response> {
    if (req.headers.get('tus-resumable') !== '1.0.0') return new Response('Tus-Resumable Required\n', { status: 412 });
    const upload = await createFinalUpload(
      this.store,
      { concatHeader: concat, metadataHeader: req.headers.get('upload-metadata'), mountPath: this.#o.path, maxSize: this.#o.maxSize },
      async (u, parts) => {
        const owners = new Set(parts.map((p) => p.metadata?.[UPLOADER_KEY] ?? ''));
        if (owners.size !== 1) throw new PipelineError('INGEST_CONCAT_INVALID', 'The partial uploads belong to different uploaders.');
        assertNoServerKeys(u.metadata);
        parseVideoMetadata(u.metadata);
        return withUploader(u.metadata, [...owners][0] || undefined);
      },
    );
    // The partials were consumed: their slots are free again (their bytes keep counting for the day).
    await this.#releaseQuietly(parseFinalConcat(concat, this.#o.path), 'concatenated');
    const { videoId } = await this.#finish(upload);
    const headers = this.#baseHeaders(req);
    headers.set('Location', `${this.#o.path}/${upload.id}`);
    headers.set('Upload-Concat', concat);
    headers.set(VIDEO_ID_HEADER, videoId);
    return new Response(null, { status: 201, headers });
  }

  /**
   * Refuses a declared Upload-Length over the limit with our JSON error (INGEST_TOO_LARGE, 413) before @tus/server
   * sees it; its own 413 is plain text. Deferred lengths are still capped by @tus/server when they are declared.
   */
  #checkDeclaredSize(req: Request): void {
    const declared = req.headers.get('upload-length');
    if (declared !== null && Number(declared) > this.#o.maxSize) {
      throw new PipelineError('INGEST_TOO_LARGE', `Upload-Length ${declared} exceeds ${this.#o.maxSize} bytes.`, {
        uploadLength: Number(declared),
        maxSize: this.#o.maxSize,
      });
    }
  }

  #errorResponse(req: Request, err: PipelineError): Response {
    const headers = this.#baseHeaders(req);
    headers.set('Content-Type', 'application/json');
    return new Response(errorBody(err), { status: err.statusCode, headers });
  }

  /** What @tus/server sets on every response it writes itself (tus version, CORS). */
  #baseHeaders(_req: Request): Headers {
    const headers = new Headers({ 'Tus-Resumable': '1.0.0' });
    headers.set('Access-Control-Allow-Origin', '*');
    headers.set(
      'Access-Control-Expose-Headers',
      `Location, Upload-Offset, Upload-Length, Upload-Concat, Tus-Resumable, ${VIDEO_ID_HEADER}`,
    );
    return headers;
  }
}

/** Sets the server-owned uploader key (never taken from the client; see assertNoServerKeys). */
function withUploader(metadata: Upload['metadata'], uploader: string | undefined): Upload['metadata'] {
  return uploader ? { ...metadata, [UPLOADER_KEY]: uploader } : metadata;
}

/** Upload id from a request URL (its last path segment, as @tus/server reads it). */
function uploadIdOf(req: Request): string {
  return decodeURIComponent(new URL(req.url).pathname.split('/').pop() ?? '');
}

function randomId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}
