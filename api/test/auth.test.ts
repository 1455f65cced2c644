import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { createTokenVerifier, issueAccessToken } from '../auth.ts';

const SECRET = 'unit-test-secret-unit-test-secret-1234';

describe('token verifier', () => {
  it('maps role claims (user → uploader; the strongest of several roles wins) and checks iss/aud', async () => {
    const v = createTokenVerifier({ secret: SECRET, issuer: 'ks', audience: 'api' });
    const user = await issueAccessToken({ secret: SECRET, sub: 'p1', role: 'user', issuer: 'ks', audience: 'api' });
    expect(await v.verify(user)).toEqual({ id: 'p1', role: 'uploader' });
    const multi = await new SignJWT({ roles: ['uploader', 'moderator'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('m1')
      .setIssuer('ks')
      .setAudience('api')
      .setExpirationTime('1m')
      .sign(Buffer.from(SECRET));
    expect(await v.verify(multi)).toEqual({ id: 'm1', role: 'moderator' });
    const wrongAud = await issueAccessToken({ secret: SECRET, sub: 'p1', role: 'user', issuer: 'ks', audience: 'other' });
    await expect(v.verify(wrongAud)).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
  });

  it('verifies RS256 and ES256 tokens against a configured public key and refuses HS256 there', async () => {
    for (const [type, alg] of [
      ['rsa', 'RS256'],
      ['ec', 'ES256'],
    ] as const) {
      const { publicKey, privateKey } =
        type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const v = createTokenVerifier({ publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      const good = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg })
        .setSubject('a')
        .setExpirationTime('1m')
        .sign(privateKey);
      expect(await v.verify(good)).toEqual({ id: 'a', role: 'admin' });
      // Algorithm confusion: an HS256 token "signed" with some secret must never pass a public-key verifier.
      const hs = await issueAccessToken({ secret: SECRET, sub: 'a', role: 'admin' });
      await expect(v.verify(hs)).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
    }
  });

  it('answers AUTH_NOT_CONFIGURED when no key is configured', async () => {
    const err = await createTokenVerifier({})
      .verify('a.b.c')
      .catch((e: unknown) => e);
    expect(isPipelineError(err, 'AUTH_NOT_CONFIGURED')).toBe(true);
  });
});
