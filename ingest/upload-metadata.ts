import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';

/** Strips control characters and path separators; a display name, never used as a path. */
export function sanitizeFilename(name: string | undefined | null): string | null {
  if (!name) return null;
  // Also drops Unicode bidi overrides (U+202A-U+202E, U+2066-U+2069) that make "evil\u202Egpj.exe" look like .jpg.
  const clean = name
    .replace(/[\u0000-\u001f\u007f/\\\u202a-\u202e\u2066-\u2069]/g, '_')
    .replace(/^\.+/, '_')
    .trim()
    .slice(0, 255);
  return clean.length > 0 ? clean : null;
}

/** Metadata key the server sets to the token's subject. */
export const UPLOADER_KEY = 'uploader';
/**
 * Metadata key of the video id reserved when the upload is created (sent back as Video-Id on the 201): the finish makes
 * the video row with this id. Server-owned, so a client can never pick the id of someone else's video.
 */
export const VIDEO_ID_KEY = 'videoId';

/** Keys the server sets itself; a client that sends them is refused rather than trusted. */
export const SERVER_METADATA_KEYS = [UPLOADER_KEY, VIDEO_ID_KEY] as const;

/** Longest passthrough, as Mux allows: a reference to the uploader's own record, not a place for data. */
export const PASSTHROUGH_MAX = 255;

const Text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), 'control characters');

/** tus Upload-Metadata of a video upload. `filetype` is accepted but never trusted: content decides. */
const VideoMetadataSchema = z.object({
  title: Text(200)
    .transform((s) => s.trim())
    .pipe(z.string().min(1)),
  description: Text(5000).optional(),
  filename: z.string().max(1024).optional(),
  filetype: z.string().max(255).optional(),
  /** Opaque to us: stored on the video, returned by the API and echoed in every webhook about it. */
  passthrough: Text(PASSTHROUGH_MAX).optional(),
});

export interface VideoUploadMetadata {
  readonly title: string;
  readonly description: string;
  readonly filename: string | null;
  readonly passthrough: string | null;
}

type RawMetadata = Readonly<Record<string, string | null | undefined>> | undefined;

/** Validates client metadata; INGEST_BAD_METADATA (400) names the offending fields. */
export function parseVideoMetadata(raw: RawMetadata): VideoUploadMetadata {
  const input: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw ?? {})) if (typeof v === 'string') input[k] = v;
  for (const k of SERVER_METADATA_KEYS) delete input[k];
  const r = VideoMetadataSchema.safeParse(input);
  if (!r.success) {
    const fields = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PipelineError('INGEST_BAD_METADATA', `Invalid Upload-Metadata (${fields.join('; ')}).`, { fields });
  }
  return {
    title: r.data.title,
    description: r.data.description ?? '',
    filename: sanitizeFilename(r.data.filename),
    passthrough: r.data.passthrough || null,
  };
}

/** Rejects server-owned keys sent by a client (they would otherwise spoof the uploader). */
export function assertNoServerKeys(raw: RawMetadata): void {
  const bad = SERVER_METADATA_KEYS.filter((k) => raw && k in raw);
  if (bad.length) throw new PipelineError('INGEST_BAD_METADATA', `Reserved metadata keys: ${bad.join(', ')}.`, { fields: bad });
}

/** Sets the server-owned keys (never taken from the client; see assertNoServerKeys). */
export function withServerKeys(
  metadata: RawMetadata,
  keys: { readonly uploader?: string | undefined; readonly videoId?: string | undefined },
): Record<string, string | null> {
  const out: Record<string, string | null> = { ...(metadata as Record<string, string | null> | undefined) };
  if (keys.uploader) out[UPLOADER_KEY] = keys.uploader;
  if (keys.videoId) out[VIDEO_ID_KEY] = keys.videoId;
  return out;
}
