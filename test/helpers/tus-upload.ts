import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as tus from 'tus-js-client';

export interface UploadResult {
  readonly uploadUrl: string;
  readonly videoId: string;
}

/** Uploads a file with the real tus-js-client, the way a Node uploader would. */
export async function tusUpload(endpoint: string, file: string, metadata: Record<string, string>, opts: { chunkSize?: number; headers?: Record<string, string> } = {}): Promise<UploadResult> {
  const size = (await stat(file)).size;
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(file), {
      endpoint,
      uploadSize: size,
      chunkSize: opts.chunkSize ?? 256 * 1024,
      metadata,
      headers: opts.headers ?? {},
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
