import { FileStore } from '@tus/file-store';
import { Server, type Upload } from '@tus/server';
import path from 'node:path';

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
  /** Largest accepted upload in bytes. */
  readonly maxSize: number;
  /**
   * Called once the last byte is stored, before the client gets its final response; returns the video id, sent back
   * in the `Video-Id` header. Must be idempotent: a client may repeat the final PATCH.
   */
  readonly onFinished: (upload: FinishedUpload) => Promise<{ videoId: string }>;
}

export const VIDEO_ID_HEADER = 'Video-Id';

function cleanMetadata(m: Upload['metadata']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The tus endpoint: resumable uploads stored on disk by @tus/file-store. */
export function createTusServer(o: TusIngestOptions): Server {
  const datastore = new FileStore({ directory: o.uploadDir });
  return new Server({
    path: o.path,
    datastore,
    maxSize: o.maxSize,
    relativeLocation: true,
    exposedHeaders: [VIDEO_ID_HEADER],
    onUploadFinish: async (_req, upload) => {
      const { videoId } = await o.onFinished({
        id: upload.id,
        path: path.join(o.uploadDir, upload.id),
        size: upload.size ?? upload.offset,
        metadata: cleanMetadata(upload.metadata),
      });
      return { headers: { [VIDEO_ID_HEADER]: videoId } };
    },
  });
}
