import { createHmac, randomBytes } from 'node:crypto';

/** Keyed pseudonyms of a user id and their video ids, for the rows an erasure keeps (the moderation audit). */
export interface Pseudonymiser {
  /** `erased:` and 32 hex digits of HMAC-SHA256(key, "user:" + id). */
  user(id: string): string;
  /** A version-8 uuid made of HMAC-SHA256(key, "video:" + id): the audit's video_id column stays a uuid. */
  video(id: string): string;
}

/**
 * With a deployment key (AUDIT_PSEUDONYM_KEY) the platform can answer an authority that names a video or user id
 * ("how was this video judged?") by hashing the id again, while the stored rows alone link to no one and cannot be
 * reversed by trying ids without the key. Without a key, each erasure draws a random one and forgets it: the rows of
 * one erasure still link to each other, to nothing else, ever (anonymous rather than pseudonymous).
 */
export function createPseudonymiser(key?: string): Pseudonymiser {
  const k = key ?? randomBytes(32).toString('hex');
  const mac = (what: string): Buffer => createHmac('sha256', k).update(what).digest();
  return {
    user: (id) => `erased:${mac(`user:${id}`).subarray(0, 16).toString('hex')}`,
    video: (id) => {
      const b = mac(`video:${id}`).subarray(0, 16);
      // RFC 9562 §5.8: version 8 (custom) in the high nibble of byte 6, variant 10 in the top bits of byte 8.
      b[6] = (b[6]! & 0x0f) | 0x80;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
}
