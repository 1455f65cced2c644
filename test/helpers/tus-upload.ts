import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as tus from 'tus-js-client';
import { bearer, tokenFor } from './auth.ts';

export interface UploadResult {
  readonly uploadUrl: string;
  readonly videoId: string;
}

export interface TusUploadOptions {
  readonly chunkSize?: number;
  readonly headers?: Record<string, string>;
  /** tus concatenation: upload in this many parallel partial uploads. */
  readonly parallelUploads?: number;
  /** Upload token; fetched from the API (origin of `endpoint`) when omitted. */
  readonly token?: string;
  /** Who uploads (JWT sub of the uploader asking for the token); default `test-uploader`. */
  readonly uploaderId?: string;
  /** Send PATCH as POST + X-HTTP-Method-Override (tus-js-client's option for proxies that block PATCH). */
  readonly overridePatchMethod?: boolean;
}

/** Default uploader of test uploads. */
export const TEST_UPLOADER = 'test-uploader';

/** Asks the API for a short-lived upload token (POST /api/upload-tokens) as a signed-in uploader. */
export async function fetchUploadToken(baseUrl: string, uploaderId: string = TEST_UPLOADER): Promise<string> {
  const headers = bearer(await tokenFor(uploaderId, 'uploader'));
  const res = await fetch(new URL('/api/upload-tokens', baseUrl), { method: 'POST', headers });
  if (res.status !== 201) throw new Error(`upload token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Uploads a file with the real tus-js-client, the way a Node uploader would. */
export async function tusUpload(
  endpoint: string,
  file: string,
  metadata: Record<string, string>,
  opts: TusUploadOptions = {},
): Promise<UploadResult> {
  const size = (await stat(file)).size;
  const token = opts.token ?? (await fetchUploadToken(endpoint, opts.uploaderId));
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(file), {
      endpoint,
      uploadSize: size,
      chunkSize: opts.chunkSize ?? 256 * 1024,
      metadata,
      headers: { 'Upload-Token': token, ...opts.headers },
      parallelUploads: opts.parallelUploads ?? 1,
      overridePatchMethod: opts.overridePatchMethod ?? false,
      retryDelays: [],
      onError: reject,
      onSuccess: (payload) => {
        const videoId = payload.lastResponse.getHeader('Video-Id');
        if (!videoId || !upload.url) reject(new Error('upload finished without Video-Id header'));
        else resolve({ uploadUrl: upload.url, videoId });
      },
    });
    upload.start();
  });
}
