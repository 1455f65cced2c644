import { PipelineError } from '../../core/errors.ts';
import type { ArchiveRow } from '../../db/archive-records.ts';
import { signedPlaybackUrl, signPlaybackToken, type SigningKey } from './tokens.ts';

export interface StreamPlayback {
  readonly hlsUrl: string;
  readonly dashUrl: string | null;
  /** Unix seconds after which Stream refuses the token; null for public videos. */
  readonly expiresAt: number | null;
}

export interface StreamPlaybackOptions {
  /** Videos were uploaded with requireSignedURLs (STREAM_REQUIRE_SIGNED_URLS). */
  readonly requireSignedURLs: boolean;
  readonly signingKey: SigningKey | undefined;
  /** Token lifetime; default 3600, capped at 24 h by signPlaybackToken. */
  readonly ttlSec?: number;
  readonly now: () => Date;
}

/**
 * Playback URLs of a video offloaded to Stream, for the API to hand to an authorised viewer: undefined until
 * Stream reports ready; signed videos get a fresh RS256 token in place of the uid in the URL.
 */
export function streamPlayback(row: Pick<ArchiveRow, 'stream_uid' | 'stream_state' | 'stream_hls_url' | 'stream_dash_url'>, o: StreamPlaybackOptions): StreamPlayback | undefined {
  const uid = row.stream_uid;
  if (!uid || row.stream_state !== 'ready' || !row.stream_hls_url) return undefined;
  if (!o.requireSignedURLs) return { hlsUrl: row.stream_hls_url, dashUrl: row.stream_dash_url, expiresAt: null };
  if (!o.signingKey) throw new PipelineError('STREAM_BAD_SIGNING_KEY', 'Signed Stream playback needs a signing key.');
  const ttl = o.ttlSec ?? 3600;
  const token = signPlaybackToken({ signingKey: o.signingKey, uid, ttlSec: ttl, now: o.now });
  const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }).exp;
  return {
    hlsUrl: signedPlaybackUrl(row.stream_hls_url, uid, token),
    dashUrl: row.stream_dash_url ? signedPlaybackUrl(row.stream_dash_url, uid, token) : null,
    expiresAt: exp,
  };
}
