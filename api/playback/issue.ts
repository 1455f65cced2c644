import type { VideoRow } from '../../db/videos.ts';
import type { PlaybackOut } from '../routes/video-view.ts';
import { signedHlsUrl, type PlaybackScope, type PlaybackSigner } from './signing.ts';

export interface PlaybackIssuerOptions {
  readonly signer: PlaybackSigner;
}

/**
 * Ready videos play in either scope; a video still transcoding plays only as a preview (owners, moderators) once its
 * EVENT package is up (issue 5's progressive publishing sets previewable_at).
 */
export function isPlayable(v: VideoRow, scope: PlaybackScope): boolean {
  if (v.status === 'ready') return true;
  return scope === 'preview' && v.status === 'processing' && v.previewable_at !== null;
}

/** `hls/<id>/a/b.jpg` → `a/b.jpg`, for keys inside the video's package; undefined otherwise. */
function packagePath(v: VideoRow, key: string | null): string | undefined {
  const prefix = `${v.hls_prefix}/`;
  return key?.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

/** Signed master, poster and storyboard URLs; null while the video is not playable in this scope. */
export async function issuePlayback(o: PlaybackIssuerOptions, v: VideoRow, scope: PlaybackScope): Promise<PlaybackOut> {
  if (!isPlayable(v, scope) || !v.master_key || !v.hls_prefix) return null;
  const { sig, expiresAt } = o.signer.sign(v.id, scope);
  const masterRel = packagePath(v, v.master_key) ?? 'master.m3u8';
  const poster = packagePath(v, v.poster_key);
  const storyboard = packagePath(v, v.storyboard_key);
  return {
    url: signedHlsUrl(v.id, masterRel, sig),
    posterUrl: poster ? signedHlsUrl(v.id, poster, sig) : null,
    storyboardUrl: storyboard ? signedHlsUrl(v.id, storyboard, sig) : null,
    expiresAt: new Date(expiresAt * 1000).toISOString(),
    scope,
  };
}
