import { PipelineError } from '../core/errors.ts';

/** Rejects keys that could escape a root or address something ambiguous; returns the normalised key. */
export function assertSafeKey(key: string): string {
  const parts = key.split('/');
  const bad =
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..');
  if (bad) throw new PipelineError('STORAGE_BAD_KEY', `Refusing storage key ${JSON.stringify(key)}.`, { key });
  return key;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  ts: 'video/mp2t',
  vtt: 'text/vtt; charset=utf-8',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  png: 'image/png',
  json: 'application/json',
};

export function contentTypeFor(key: string): string {
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** Segments and images never change once written; playlists may (EVENT → VOD), so they stay short-lived. */
export function cacheControlFor(key: string): string {
  return key.endsWith('.m3u8') ? 'public, max-age=2' : 'public, max-age=31536000, immutable';
}
