import { Metadata, Uid, Upload } from '@tus/utils';
import { PipelineError } from '../core/errors.ts';
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
 * tus concatenation, final step: checks that every listed partial is complete, that the total fits maxSize, lets
 * `prepare` validate and patch the metadata (same rules as a normal creation), then joins the parts on disk.
 */
export async function createFinalUpload(
  store: SafeFileStore,
  r: FinalUploadRequest,
  prepare: (upload: Upload, parts: readonly Upload[]) => Promise<Upload['metadata']>,
): Promise<Upload> {
  const partIds = parseFinalConcat(r.concatHeader, r.mountPath);
  if (new Set(partIds).size !== partIds.length) throw new PipelineError('INGEST_CONCAT_INVALID', 'A partial is listed twice.');
  let total = 0;
  const parts: Upload[] = [];
  for (const id of partIds) {
    const part = await store.getUpload(id).catch(() => undefined);
    if (!part || part.size === undefined || part.offset !== part.size) {
      throw new PipelineError('INGEST_CONCAT_INVALID', `Partial upload ${id} is missing or incomplete.`, { id });
    }
    total += part.size;
    parts.push(part);
  }
  if (r.maxSize > 0 && total > r.maxSize) {
    throw new PipelineError('INGEST_TOO_LARGE', `The parts add up to ${total} bytes, over ${r.maxSize}.`, { total });
  }
  const upload = new Upload({ id: Uid.rand(), size: total, offset: 0, metadata: parseMetadata(r.metadataHeader) });
  upload.metadata = await prepare(upload, parts);
  return store.concatenate(upload, partIds);
}
