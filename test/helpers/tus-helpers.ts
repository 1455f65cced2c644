import { createHash } from 'node:crypto';
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
