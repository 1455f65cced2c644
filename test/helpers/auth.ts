import { issueAccessToken } from '../../api/auth.ts';
import type { Role } from '../../core/types.ts';

/** HS256 key the test apps verify tokens with (startTestApp sets JWT_SECRET to it). */
export const TEST_JWT_SECRET = 'test-only-jwt-secret-0123456789abcdef';
export const TEST_PLAYBACK_KEY = 'test-only-playback-key-0123456789abcdef';

/** A valid access token for `sub` with `role`. */
export function tokenFor(sub: string, role: Role | 'user', o: { ttlSec?: number; secret?: string } = {}): Promise<string> {
  return issueAccessToken({ secret: o.secret ?? TEST_JWT_SECRET, sub, role, ttlSec: o.ttlSec });
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
