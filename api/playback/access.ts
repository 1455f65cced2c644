import type { ErrorCode } from '../../core/errors.ts';
import type { AccessStateRow, VideoRow } from '../../db/videos.ts';
import { isStaff, type Principal } from '../auth.ts';
import type { PlaybackGrant, VerifiedSignature } from './signing.ts';

/**
 * Who may play a video, decided in one place for both moments that matter: when a URL is issued
 * (GET /api/playback/:id, video details, moderation answers) and on every /hls request that presents one.
 */
export type AccessFacts = Readonly<AccessStateRow>;

export const factsOf = (v: VideoRow): AccessFacts => ({
  status: v.status,
  moderation_status: v.moderation_status,
  uploader_id: v.uploader_id,
  previewable: v.previewable_at !== null,
  access_epoch: v.access_epoch,
});

/** Approved and fully transcoded: plays for everyone. */
export const isPublic = (s: AccessFacts): boolean => s.status === 'ready' && s.moderation_status === 'approved';

/** There is a package to watch: ready, or still transcoding with every rung's first segment published. */
export const isWatchable = (s: AccessFacts): boolean => s.status === 'ready' || (s.status === 'processing' && s.previewable);

/**
 * The grant a caller gets, or the code that says why not. Approved videos are public; moderators and admins preview
 * anything watchable, rejected videos included (they may reverse a decision); owners preview their own video until a
 * moderator rejects it. Anonymous callers learn only "not approved", never that a video was rejected.
 */
export function decideGrant(s: AccessFacts | undefined, p: Principal | undefined): PlaybackGrant | ErrorCode {
  if (!s || !isWatchable(s)) return 'API_NOT_FOUND';
  if (isPublic(s)) return { audience: 'public' };
  if (p && isStaff(p)) return { audience: 'moderator', principalId: p.id };
  if (p && s.uploader_id === p.id)
    return s.moderation_status === 'rejected' ? 'PLAYBACK_REJECTED' : { audience: 'owner', principalId: p.id };
  return 'PLAYBACK_NOT_APPROVED';
}

/**
 * Re-checks a verified signature against the video's current state; undefined = serve. The state-based answers come
 * first (they say what happened); the epoch check then catches what the state alone cannot, such as a public link
 * issued before approve → reject → approve, or a preview of a package that was re-processed since.
 */
export function accessDenial(s: AccessFacts | undefined, sig: VerifiedSignature, tagOf: (id: string) => string): ErrorCode | undefined {
  if (!s) return 'API_NOT_FOUND';
  switch (sig.audience) {
    case 'public':
      if (!isPublic(s)) return 'PLAYBACK_NOT_APPROVED';
      break;
    case 'owner':
      // The owner's right is re-derived from the row: the tag must still name the video's uploader.
      if (s.uploader_id === null || sig.principalTag !== tagOf(s.uploader_id)) return 'PLAYBACK_REVOKED';
      if (s.moderation_status === 'rejected') return 'PLAYBACK_REJECTED';
      if (!isWatchable(s)) return 'API_NOT_FOUND';
      break;
    case 'moderator':
      // Roles live in the identity provider's tokens, not here: a moderator preview's right is its short lifetime.
      if (sig.principalTag === undefined) return 'PLAYBACK_SIGNATURE_INVALID';
      if (!isWatchable(s)) return 'API_NOT_FOUND';
      break;
  }
  return sig.epoch === s.access_epoch ? undefined : 'PLAYBACK_REVOKED';
}
