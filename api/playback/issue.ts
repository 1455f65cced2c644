import { PipelineError } from '../../core/errors.ts';
import type { VideoRow } from '../../db/videos.ts';
import type { Principal } from '../auth.ts';
import type { PlaybackOut } from '../routes/video-view.ts';
import { decideGrant, factsOf } from './access.ts';
import { signedHlsUrl, type PlaybackGrant, type PlaybackSigner } from './signing.ts';

export interface PlaybackIssuerOptions {
  readonly signer: PlaybackSigner;
  /** Issues analytics session tokens with public playback; default none (answers carry analyticsSession: null). */
  readonly analyticsSessions?: { issue(videoId: string): string };
}

/** `hls/<id>/a/b.jpg` → `a/b.jpg`, for keys inside the video's package; undefined otherwise. */
function packagePath(v: VideoRow, key: string | null): string | undefined {
  const prefix = `${v.hls_prefix}/`;
  return key?.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

/**
 * Signed master, poster and storyboard URLs for the grant, bound to the video's current access epoch; null while there
 * is no package to point at.
 */
export function issueGrant(o: PlaybackIssuerOptions, v: VideoRow, grant: PlaybackGrant): PlaybackOut {
  if (!v.master_key || !v.hls_prefix) return null;
  const { sig, expiresAt } = o.signer.sign(v.id, grant, v.access_epoch);
  const masterRel = packagePath(v, v.master_key) ?? 'master.m3u8';
  const poster = packagePath(v, v.poster_key);
  const storyboard = packagePath(v, v.storyboard_key);
  return {
    url: signedHlsUrl(v.id, masterRel, sig),
    title: v.title,
    posterUrl: poster ? signedHlsUrl(v.id, poster, sig) : null,
    storyboardUrl: storyboard ? signedHlsUrl(v.id, storyboard, sig) : null,
    expiresAt: new Date(expiresAt * 1000).toISOString(),
    scope: grant.audience === 'public' ? 'public' : 'preview',
    audience: grant.audience,
    // Only real viewers' sessions count: owners' and moderators' previews would inflate the numbers.
    analyticsSession: grant.audience === 'public' ? (o.analyticsSessions?.issue(v.id) ?? null) : null,
  };
}

/** Playback for `p`, or null when it may not (or cannot yet) play the video: for pages that show a video anyway. */
export function issuePlayback(o: PlaybackIssuerOptions, v: VideoRow, p: Principal | undefined): PlaybackOut {
  const grant = decideGrant(factsOf(v), p);
  return typeof grant === 'string' ? null : issueGrant(o, v, grant);
}

/** Playback for `p`, or the error that says why not (GET /api/playback/:id). */
export function requirePlayback(
  o: PlaybackIssuerOptions,
  v: VideoRow | undefined,
  p: Principal | undefined,
  id: string,
): NonNullable<PlaybackOut> {
  const grant = decideGrant(v && factsOf(v), p);
  if (typeof grant === 'string') throw new PipelineError(grant, `Video ${id} cannot be played by this caller.`, { id });
  const out = v && issueGrant(o, v, grant);
  if (!out) throw new PipelineError('API_NOT_FOUND', `No playable video ${id}.`, { id });
  return out;
}
