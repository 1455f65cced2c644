import type { VideoRow } from '../../db/videos.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import type { PlaybackOut } from '../routes/video-view.ts';
import { signedHlsUrl, type PlaybackScope, type PlaybackSigner } from './signing.ts';

export interface PlaybackIssuerOptions {
  readonly signer: PlaybackSigner;
  readonly storage: ObjectStorage;
}

/** Name of the poster image inside a package (written by the packager when it makes one). */
export const POSTER_NAME = 'poster.jpg';

/** Signed master (and poster) URLs of a ready video; null while it is not playable at all. */
export async function issuePlayback(o: PlaybackIssuerOptions, v: VideoRow, scope: PlaybackScope): Promise<PlaybackOut> {
  if (v.status !== 'ready' || !v.master_key || !v.hls_prefix) return null;
  const { sig, expiresAt } = o.signer.sign(v.id, scope);
  const prefix = `${v.hls_prefix}/`;
  const masterRel = v.master_key.startsWith(prefix) ? v.master_key.slice(prefix.length) : 'master.m3u8';
  const poster = await o.storage.head(`${v.hls_prefix}/${POSTER_NAME}`);
  return {
    url: signedHlsUrl(v.id, masterRel, sig),
    posterUrl: poster ? signedHlsUrl(v.id, POSTER_NAME, sig) : null,
    expiresAt: new Date(expiresAt * 1000).toISOString(),
    scope,
  };
}
