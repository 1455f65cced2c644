import { describe, expect, it } from 'vitest';
import { UploadTokens } from '../upload-token.ts';

const SECRET = 'test-secret-that-is-at-least-32-characters-long';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('upload tokens', () => {
  it('issues a token that verifies with the same secret and carries expiry and uploader', () => {
    let now = 1_700_000_000_000;
    const tokens = new UploadTokens({ secret: SECRET, ttlSec: 60, now: () => now });
    const issued = tokens.issue({ uploaderId: 'parent-42' });
    const claims = tokens.verify(issued.token);
    expect(claims.sub).toBe('parent-42');
    expect(claims.exp - claims.iat).toBe(60);
    expect(issued.expiresAt.getTime()).toBe(now + 60_000);
    now += 59_000;
    expect(tokens.verify(issued.token).jti).toBe(claims.jti);
  });

  it('refuses missing, tampered, foreign-secret and expired tokens with distinct codes', () => {
    let now = 1_700_000_000_000;
    const tokens = new UploadTokens({ secret: SECRET, ttlSec: 60, now: () => now });
    const { token } = tokens.issue();
    expect(codeOf(() => tokens.verify(undefined))).toBe('INGEST_TOKEN_MISSING');
    expect(codeOf(() => tokens.verify(''))).toBe('INGEST_TOKEN_MISSING');
    expect(codeOf(() => tokens.verify('garbage'))).toBe('INGEST_TOKEN_INVALID');
    const [body, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ v: 1, jti: 'aaaaaaaaaaaa', iat: 0, exp: 9_999_999_999 })).toString('base64url');
    expect(codeOf(() => tokens.verify(`${forged}.${sig}`))).toBe('INGEST_TOKEN_INVALID');
    expect(codeOf(() => tokens.verify(`${body}.${sig}x`))).toBe('INGEST_TOKEN_INVALID');
    const other = new UploadTokens({ secret: `${SECRET}-other`, now: () => now });
    expect(codeOf(() => other.verify(token))).toBe('INGEST_TOKEN_INVALID');
    now += 60_000;
    expect(codeOf(() => tokens.verify(token))).toBe('INGEST_TOKEN_EXPIRED');
  });

  it('refuses a short secret', () => {
    expect(codeOf(() => new UploadTokens({ secret: 'short' }))).toBe('OPS_CONFIG_INVALID');
  });
});
