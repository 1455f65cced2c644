import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server, type Upload } from '@tus/server';
import { sendNodeResponse } from 'srvx/node';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { UploadQuota } from '../core/upload-quota.ts';
import { CHECKSUM_ALGORITHMS, CHECKSUM_HEADER, checksumScope, parseChecksumHeader } from './checksum.ts';
import { createFinalUpload, parseFinalConcat } from './concat.ts';
import type { DiskSpace } from './disk-space.ts';
import { nodeRequest } from './node-request.ts';
import { isPartialId, PARTIAL_PREFIX, SafeFileStore } from './safe-file-store.ts';
import { asJsonError, errorBody, toIngestError } from './tus-errors.ts';
import { checkProtocol, TUS_VERSION, withMethodOverride } from './tus-protocol.ts';
import { UploadCompletion, VIDEO_ID_HEADER, type FinishedUploadLookup, type UploadFinishHook } from './upload-finish.ts';
import { assertNoServerKeys, parseVideoMetadata, UPLOADER_KEY, VIDEO_ID_KEY, withServerKeys } from './upload-metadata.ts';
import { deleteTusUpload } from './video-files.ts';
import { UPLOAD_TOKEN_HEADER, type UploadTokenClaims, type UploadTokens } from './upload-token.ts';

export type { FinishedUpload } from './upload-finish.ts';

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
  /** Free space on the data volume, checked before each creation (INGEST_DISK_FULL, 507); default: not checked. */
  readonly disk?: DiskSpace;
  readonly logger: Logger;
  /** Clock for expiry decisions; default Date.now. */
  readonly now?: () => number;
  /**
   * Records a complete (non-partial) upload as a video before the client hears it is complete; returns the video id,
   * sent back in the `Video-Id` header. Must be idempotent on the upload id (see UploadFinishHook).
   */
  readonly onFinished: UploadFinishHook;
  /** What became of an upload whose files are gone (see UploadCompletion.answerHead); default none. */
  readonly finishedUpload?: FinishedUploadLookup;
}

export { VIDEO_ID_HEADER } from './upload-finish.ts';
export { UPLOADER_KEY, VIDEO_ID_KEY } from './upload-metadata.ts';

/** Statuses whose cause passes with time: the client is told when to try again. */
const RETRY_LATER = new Set([423, 503, 507]);

/**
 * The tus endpoint: @tus/server v2 on a SafeFileStore, with upload tokens, zod-validated metadata, and the checksum
 * and concatenation extensions that @tus/server does not implement, handled in front of it. Every error answer is
 * JSON with a stable code (ingest/tus-errors.ts).
 */
export class TusIngest {
  readonly server: Server;
  readonly store: SafeFileStore;
  readonly completion: UploadCompletion;
  readonly #o: TusIngestOptions;
  /** Claims of the creation request being handled (set in onIncomingRequest, read in onUploadCreate). */
  readonly #claims = new WeakMap<object, UploadTokenClaims>();
  /** Upload id a creation request made (set in onUploadCreate), to undo what a failed creation left. */
  readonly #created = new WeakMap<object, string>();
  /** Video id reserved by a creation request (set in onUploadCreate), for the Video-Id of its 201. */
  readonly #videoIds = new WeakMap<object, string>();
  /** Creation requests whose quota slot was taken, to give it back if creation fails. */
  readonly #reserved = new WeakSet<object>();

  constructor(o: TusIngestOptions) {
    this.#o = o;
    this.store = new SafeFileStore({ directory: o.uploadDir, expirationMs: o.expirationMs, now: o.now });
    this.completion = new UploadCompletion({
      store: this.store,
      onFinished: o.onFinished,
      lookup: o.finishedUpload,
      quota: o.quota,
      logger: o.logger,
    });
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
        if (req.method === 'POST') this.#claims.set(req, this.#o.tokens.verify(req.headers.get(UPLOAD_TOKEN_HEADER)));
      },
      onUploadCreate: async (req, upload) => {
        const claims = this.#claims.get(req);
        const metadata = this.#prepareMetadata(upload, claims);
        const videoId = metadata?.[VIDEO_ID_KEY];
        if (videoId) this.#videoIds.set(req, videoId);
        this.#created.set(req, upload.id);
        await this.#reserve(req, upload, claims);
        return { metadata };
      },
      onUploadFinish: async (_req, upload) => {
        if (isPartialId(upload.id)) {
          await this.completion.partialFinished(upload);
          return {};
        }
        return { headers: { [VIDEO_ID_HEADER]: await this.completion.complete(upload) } };
      },
      onResponseError: (_req, err) => {
        const e = this.#describe(err);
        return { status_code: e.statusCode, body: errorBody(e) };
      },
    });
  }

  /** Node entry point (fastify hands over the raw request after hijacking the reply). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const response = await this.handleWeb(nodeRequest(req, res));
    await sendNodeResponse(res, response);
  }

  async handleWeb(req: Request): Promise<Response> {
    let res: Response;
    try {
      const tunnelled = withMethodOverride(req);
      checkProtocol(tunnelled);
      res = await this.#route(tunnelled);
    } catch (err) {
      res = this.#errorResponse(this.#describe(err));
    }
    if (RETRY_LATER.has(res.status)) res.headers.set('Retry-After', '5');
    // A 412 names the versions this server speaks (tus 1.0: "MUST").
    if (res.status === 412) res.headers.set('Tus-Version', TUS_VERSION);
    return asJsonError(res);
  }

  /** Deletes expired unfinished uploads; never a finished one (see SafeFileStore.deleteExpired). */
  cleanUpExpired(): Promise<number> {
    return this.server.cleanUpExpiredUploads();
  }

  async #route(req: Request): Promise<Response> {
    // Downloading an upload is not part of tus; raw uploads may be infected or carry GPS tags.
    if (req.method === 'GET') throw new PipelineError('API_NOT_FOUND', 'Uploads cannot be downloaded.');
    const concat = req.headers.get('upload-concat');
    if (req.method === 'POST' && concat?.startsWith('final;')) return await this.#createFinal(req, concat);
    if (req.method === 'POST') await this.#checkDeclaredSize(req);
    if (req.method === 'PATCH') return await this.#patch(req);
    const res = await this.server.handleWeb(req);
    if (req.method === 'POST') await this.#undoFailedCreation(req, res);
    // The video id is handed out with the upload (as Stream and Mux do), not only once the last byte is in.
    const reserved = this.#videoIds.get(req);
    if (req.method === 'POST' && res.status === 201 && reserved) res.headers.set(VIDEO_ID_HEADER, reserved);
    if (req.method === 'DELETE' && res.status === 204) await this.completion.releaseQuietly([uploadIdOf(req)], 'terminated');
    if (req.method === 'OPTIONS') res.headers.set('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','));
    if (req.method === 'HEAD') return this.completion.answerHead(uploadIdOf(req), res);
    return res;
  }

  async #patch(req: Request): Promise<Response> {
    const checksum = req.headers.get(CHECKSUM_HEADER);
    const expected = checksum === null ? undefined : parseChecksumHeader(checksum);
    const res = await (expected ? checksumScope.run(expected, () => this.server.handleWeb(req)) : this.server.handleWeb(req));
    // A refusal on the first bytes (HeadSniff) is answered only once its files are gone and its slot is free.
    if (res.status === 415) await this.completion.refused(uploadIdOf(req), await this.store.takeRefusal(uploadIdOf(req)));
    return res;
  }

  /** The stable error a client gets for `err`; server-side failures are logged here with their cause. */
  #describe(err: unknown): PipelineError {
    const e = toIngestError(err);
    // pino's err serializer appends the causes' messages: the log has the errno the client never sees.
    if (e.statusCode >= 500 || e.code === 'INGEST_FINISH_PENDING') this.#o.logger.error({ err: e }, 'tus request failed');
    return e;
  }

  #prepareMetadata(upload: Upload, claims: UploadTokenClaims | undefined): Upload['metadata'] {
    assertNoServerKeys(upload.metadata);
    // Partials carry no video metadata (tus-js-client's metadataForPartialUploads) and become no video; the final does.
    if (isPartialId(upload.id)) return withServerKeys(upload.metadata, { uploader: claims?.sub });
    parseVideoMetadata(upload.metadata);
    return withServerKeys(upload.metadata, { uploader: claims?.sub, videoId: randomUUID() });
  }

  /** Takes a quota slot for the upload (throws INGEST_QUOTA_*), after its metadata passed validation. */
  async #reserve(req: Request, upload: Upload, claims: UploadTokenClaims | undefined): Promise<void> {
    if (!this.#o.quota) return;
    await this.#o.quota.reserve({
      uploadId: upload.id,
      uploader: claims?.sub ?? '',
      kind: isPartialId(upload.id) ? 'partial' : 'upload',
      videoId: this.#videoIds.get(req),
      // A deferred length counts as the largest allowed upload until the real size is known.
      bytes: upload.size ?? this.#o.maxSize,
    });
    this.#reserved.add(req);
  }

  /**
   * A creation that failed after onUploadCreate gives its slot back, unless the upload exists anyway
   * (creation-with-upload whose body broke off): the client can resume that one, so it keeps counting. One that
   * failed for lack of disk, or because its video could not be recorded, is deleted: the client never got its URL
   * and will create it again, so keeping it would leave a 0-byte leftover or make a second video from one file.
   */
  async #undoFailedCreation(req: Request, res: Response): Promise<void> {
    const id = this.#created.get(req);
    if (id === undefined || res.status < 400) return;
    const abandoned = res.status === 507 || res.status === 423;
    if (abandoned) await deleteTusUpload(this.store.pathOf(id));
    const resumable =
      !abandoned &&
      (await this.store.getUpload(id).then(
        () => true,
        () => false,
      ));
    if (!resumable && this.#reserved.has(req)) await this.completion.releaseQuietly([id], 'failed');
  }

  /**
   * The final upload needs no token: every partial was created with one and their URLs are the capability, like a
   * PATCH. That matters: a long parallel upload outlives the short token, and refusing the final POST then would lose
   * the whole upload. The uploader is the one the partials were created for. The partials are deleted only after the
   * video is recorded: if recording fails, the client's retry (HEAD on each partial, then this request again) finds
   * them, and the final upload it made, in place.
   */
  async #createFinal(req: Request, concat: string): Promise<Response> {
    if (req.headers.get('tus-resumable') !== '1.0.0') return new Response('Tus-Resumable Required\n', { status: 412 });
    const { upload, partIds } = await createFinalUpload(
      this.store,
      { concatHeader: concat, metadataHeader: req.headers.get('upload-metadata'), mountPath: this.#o.path, maxSize: this.#o.maxSize },
      async (u, parts) => {
        const owners = new Set(parts.map((p) => p.metadata?.[UPLOADER_KEY] ?? ''));
        if (owners.size !== 1) throw new PipelineError('INGEST_CONCAT_INVALID', 'The partial uploads belong to different uploaders.');
        assertNoServerKeys(u.metadata);
        parseVideoMetadata(u.metadata);
        await this.#o.disk?.assertRoom(u.size ?? 0);
        return withServerKeys(u.metadata, { uploader: [...owners][0] || undefined, videoId: randomUUID() });
      },
    ).catch(async (err: unknown) => {
      // Parts refused on their first bytes were removed: their quota slots are free again.
      if (isPipelineError(err, 'INGEST_NOT_VIDEO_FILE')) await this.completion.refusedParts(parseFinalConcat(concat, this.#o.path), err);
      throw err;
    });
    const videoId = await this.completion.complete(upload);
    await this.store.removeParts(partIds).catch((err: unknown) => {
      // Left for the expiry sweep, which removes finished partials nobody concatenated.
      this.#o.logger.error({ err, partIds }, 'concatenated partials not removed');
    });
    // The partials were consumed: their slots are free again (their bytes keep counting for the day).
    await this.completion.releaseQuietly(parseFinalConcat(concat, this.#o.path), 'concatenated');
    const headers = this.#baseHeaders();
    headers.set('Location', `${this.#o.path}/${upload.id}`);
    headers.set('Upload-Concat', concat);
    headers.set(VIDEO_ID_HEADER, videoId);
    return new Response(null, { status: 201, headers });
  }

  /**
   * Refuses a declared Upload-Length over the limit with our JSON error (INGEST_TOO_LARGE, 413) before @tus/server
   * sees it; its own 413 is plain text. Deferred lengths are still capped by @tus/server when they are declared. Then
   * the declared bytes must fit on the data volume above the reserve (a deferred length is checked as 0 bytes).
   */
  async #checkDeclaredSize(req: Request): Promise<void> {
    const declared = req.headers.get('upload-length');
    if (declared !== null && Number(declared) > this.#o.maxSize) {
      throw new PipelineError('INGEST_TOO_LARGE', `Upload-Length ${declared} exceeds ${this.#o.maxSize} bytes.`, {
        uploadLength: Number(declared),
        maxSize: this.#o.maxSize,
      });
    }
    await this.#o.disk?.assertRoom(Number(declared) || 0);
  }

  #errorResponse(err: PipelineError): Response {
    const headers = this.#baseHeaders();
    headers.set('Content-Type', 'application/json');
    return new Response(errorBody(err), { status: err.statusCode, headers });
  }

  /** What @tus/server sets on every response it writes itself (tus version, CORS). */
  #baseHeaders(): Headers {
    const headers = new Headers({ 'Tus-Resumable': TUS_VERSION });
    headers.set('Access-Control-Allow-Origin', '*');
    headers.set(
      'Access-Control-Expose-Headers',
      `Location, Upload-Offset, Upload-Length, Upload-Concat, Tus-Resumable, Retry-After, ${VIDEO_ID_HEADER}`,
    );
    return headers;
  }
}

/** Upload id from a request URL (its last path segment, as @tus/server reads it). */
function uploadIdOf(req: Request): string {
  return decodeURIComponent(new URL(req.url).pathname.split('/').pop() ?? '');
}

function randomId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}
