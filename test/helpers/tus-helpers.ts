import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tus from 'tus-js-client';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const fileSha256 = async (p: string): Promise<string> => sha256(await readFile(p));

/** Path of an upload's data file from its URL (the file store names files by upload id). */
export const storedPath = (uploadDir: string, uploadUrl: string): string =>
  path.join(uploadDir, new URL(uploadUrl).pathname.split('/').pop()!);

export interface JsonError {
  error: { code: string; message: string };
}

/** Error code from a tus-js-client error (our JSON body) or a fetch Response. */
export async function codeOf(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as JsonError).error.code;
  } catch {
    return undefined;
  }
}

export function tusErrorCode(err: unknown): { status: number | undefined; code: string | undefined } {
  const e = err as tus.DetailedError;
  const status = e.originalResponse?.getStatus();
  let code: string | undefined;
  try {
    code = (JSON.parse(e.originalResponse?.getBody() ?? '') as JsonError).error.code;
  } catch {
    code = undefined;
  }
  return { status, code };
}

/** An ISO-BMFF `ftyp` box (mp4, brand isom): a start the upload's first-bytes check (media/container-sniff.ts) accepts. */
export const MP4_HEAD: Buffer = Buffer.concat([
  Buffer.from([0, 0, 0, 24]),
  Buffer.from('ftypisom'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isommp41'),
]);

/**
 * `size` random bytes behind an mp4 `ftyp` box: an upload the tus endpoint stores, for tests about moving bytes (fewer
 * than 8 bytes are the start of the box, which the check judges once the rest arrives). Not a playable video: the
 * pipeline still refuses it (INGEST_UNREADABLE) once it probes the file.
 */
export function videoLikeBytes(size: number): Buffer {
  const bytes = randomBytes(size);
  MP4_HEAD.copy(bytes, 0, 0, Math.min(size, MP4_HEAD.length));
  return bytes;
}

export type UploadOpts = Partial<tus.UploadOptions> & { endpoint: string };

/** One tus-js-client run to success; resolves with the upload URL and the Video-Id response header. */
export function runUpload(data: Buffer, opts: UploadOpts): Promise<{ url: string; videoId: string | undefined }> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      chunkSize: 256 * 1024,
      retryDelays: [],
      ...opts,
      onError: reject,
      onSuccess: (p) => resolve({ url: up.url ?? '', videoId: p.lastResponse.getHeader('Video-Id') }),
    });
    up.start();
  });
}

/** Starts an upload and aborts it once at least `cutAt` bytes were sent; resolves with the upload URL. */
export function runUntil(data: Buffer, cutAt: number, opts: UploadOpts): Promise<string> {
  return new Promise((resolve, reject) => {
    let done = false;
    const up = new tus.Upload(data, {
      chunkSize: 256 * 1024,
      retryDelays: [],
      ...opts,
      onProgress: (sent) => {
        if (done || sent < cutAt || !up.url) return;
        done = true;
        void up.abort().then(() => resolve(up.url!), reject);
      },
      onError: (err) => (done ? undefined : reject(err)),
      onSuccess: () => (done ? undefined : reject(new Error('upload finished before the cut'))),
    });
    up.start();
  });
}
