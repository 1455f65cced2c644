import { createHash } from 'node:crypto';
import { Metadata, Upload } from '@tus/utils';
import { PipelineError } from '../core/errors.ts';
import { sniffJoined } from './head-sniff.ts';
import { isPartialId, type SafeFileStore } from './safe-file-store.ts';

export interface FinalUploadRequest {
  /** Value of the Upload-Concat header, `final;<url> <url> …`. */
  readonly concatHeader: string;
  readonly metadataHeader: string | null;
  /** URL path the tus endpoint is mounted at, e.g. `/uploads`. */
  readonly mountPath: string;
  readonly maxSize: number;
}

/** Upload ids named in `final;…`: absolute or relative URLs under the mount path, each a partial of this server. */
export function parseFinalConcat(header: string, mountPath: string): string[] {
  if (!header.startsWith('final;')) throw new PipelineError('INGEST_CONCAT_INVALID', 'Upload-Concat is not "final;…".');
  const urls = header.slice('final;'.length).trim().split(/\s+/).filter(Boolean);
  if (urls.length === 0 || urls.length > 64) throw new PipelineError('INGEST_CONCAT_INVALID', 'List 1-64 partial uploads.');
  return urls.map((u) => {
    let pathname: string;
    try {
      pathname = new URL(u, 'http://relative.invalid').pathname;
    } catch (err) {
      throw new PipelineError('INGEST_CONCAT_INVALID', `Not a URL: ${u.slice(0, 200)}.`, {}, { cause: err });
    }
    const prefix = `${mountPath.replace(/\/$/, '')}/`;
    const id = pathname.startsWith(prefix) ? decodeURIComponent(pathname.slice(prefix.length)) : '';
    if (!isPartialId(id) || !/^[A-Za-z0-9_-]+$/.test(id)) {
      throw new PipelineError('INGEST_CONCAT_INVALID', `${u.slice(0, 200)} is not a partial upload here.`, { url: u });
    }
    return id;
  });
}

function parseMetadata(header: string | null): Upload['metadata'] {
  if (!header) return undefined;
  try {
    return Metadata.parse(header);
  } catch (err) {
    throw new PipelineError('INGEST_BAD_METADATA', 'Upload-Metadata is not tus key/base64 pairs.', {}, { cause: err });
  }
}

/**
 * Id of the final upload over `partIds`, derived from them: a final request repeated after a failure (or a crash)
 * finds the upload the first one made instead of making a second video from the same parts. As unguessable as the
 * partial ids it is derived from.
 */
export function finalUploadId(partIds: readonly string[]): string {
  return createHash('sha256').update(partIds.join(' ')).digest('hex').slice(0, 32);
}

const isComplete = (u: Upload | undefined): u is Upload => u !== undefined && u.size !== undefined && u.offset === u.size;

/**
 * tus concatenation, final step: checks that every listed partial is complete, that the total fits maxSize, lets
 * `prepare` validate and patch the metadata (same rules as a normal creation), then joins the parts on disk. When
 * the final upload over these parts exists already, returns it. The caller removes the parts once it has recorded
 * the result (SafeFileStore.removeParts), so a failure before that leaves everything a retry needs.
 */
export async function createFinalUpload(
  store: SafeFileStore,
  r: FinalUploadRequest,
  prepare: (upload: Upload, parts: readonly Upload[]) => Promise<Upload['metadata']>,
): Promise<{ upload: Upload; partIds: string[] }> {
  const partIds = parseFinalConcat(r.concatHeader, r.mountPath);
  if (new Set(partIds).size !== partIds.length) throw new PipelineError('INGEST_CONCAT_INVALID', 'A partial is listed twice.');
  const id = finalUploadId(partIds);
  const existing = await store.getUpload(id).catch(() => undefined);
  if (isComplete(existing)) return { upload: existing, partIds };
  let total = 0;
  const parts: Upload[] = [];
  for (const partId of partIds) {
    const part = await store.getUpload(partId).catch(() => undefined);
    if (!isComplete(part)) {
      throw new PipelineError('INGEST_CONCAT_INVALID', `Partial upload ${partId} is missing or incomplete.`, { id: partId });
    }
    total += part.size ?? 0;
    parts.push(part);
  }
  if (r.maxSize > 0 && total > r.maxSize) {
    throw new PipelineError('INGEST_TOO_LARGE', `The parts add up to ${total} bytes, over ${r.maxSize}.`, { total });
  }
  // The parts' bytes are all here: a file that is plainly not a video is refused before it is joined, scanned or
  // queued, as a single upload is on its first PATCH. Its parts are junk then, and go (their slots with them).
  const refused = await sniffJoined(parts.map((p) => ({ file: store.pathOf(p.id), size: p.size ?? 0 })));
  if (refused) {
    await store.removeParts(partIds);
    throw refused;
  }
  const upload = new Upload({ id, size: total, offset: 0, metadata: parseMetadata(r.metadataHeader) });
  upload.metadata = await prepare(upload, parts);
  try {
    return { upload: await store.concatenate(upload, partIds), partIds };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') {
      throw new PipelineError('INGEST_UPLOAD_BUSY', 'These parts are being joined by another request.', { id }, { cause: err });
    }
    throw err;
  }
}
