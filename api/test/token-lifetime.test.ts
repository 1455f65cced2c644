import { execFile } from 'node:child_process';
import { createSecretKey } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { TEST_JWT_SECRET, tokenFor } from '../../test/helpers/auth.ts';
import { createTokenVerifier } from '../auth.ts';
import { call, codeOf } from './http.ts';

const run = promisify(execFile);
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const key = createSecretKey(Buffer.from(TEST_JWT_SECRET));
const nowSec = (): number => Math.floor(Date.now() / 1000);
const jwt = (): SignJWT => new SignJWT({ role: 'uploader' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice');

describe('access tokens must expire, and not too far ahead', () => {
  let t: TestApp;

  beforeAll(async () => {
    // A 2 h cap (instead of the 24 h default) so the tests can show the setting is honoured.
    t = await startTestApp({ roles: ['api'], env: { JWT_MAX_LIFETIME_SEC: '7200' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const status = async (token: string): Promise<[number, string | undefined]> => {
    const r = await call(t.url, 'GET', '/api/videos', { token });
    return [r.status, codeOf(r)];
  };

  it('accepts a normal short-lived token', async () => {
    expect(await status(await tokenFor('alice', 'uploader', { ttlSec: 900 }))).toEqual([200, undefined]);
    expect(await status(await jwt().setIssuedAt().setExpirationTime('2h').sign(key))).toEqual([200, undefined]);
  });

  it('refuses a correctly signed token without exp (it would never expire)', async () => {
    expect(await status(await jwt().setIssuedAt().sign(key))).toEqual([401, 'AUTH_INVALID_TOKEN']);
    expect(await status(await jwt().sign(key))).toEqual([401, 'AUTH_INVALID_TOKEN']);
  });

  it('refuses tokens that live longer than JWT_MAX_LIFETIME_SEC, with or without iat', async () => {
    const tenYears = nowSec() + 10 * 365 * 86_400;
    expect(await status(await jwt().setIssuedAt().setExpirationTime(tenYears).sign(key))).toEqual([401, 'AUTH_INVALID_TOKEN']);
    expect(await status(await jwt().setExpirationTime(tenYears).sign(key))).toEqual([401, 'AUTH_INVALID_TOKEN']);
    expect(await status(await jwt().setIssuedAt().setExpirationTime('3h').sign(key))).toEqual([401, 'AUTH_INVALID_TOKEN']);
    // An iat set in the future must not make a far-off exp look short.
    const futureIat = await jwt()
      .setIssuedAt(tenYears - 600)
      .setExpirationTime(tenYears)
      .sign(key);
    expect(await status(futureIat)).toEqual([401, 'AUTH_INVALID_TOKEN']);
    // Also through ?access_token= (pages opened from a link).
    const r = await call(t.url, 'GET', `/api/videos?access_token=${await jwt().setExpirationTime(tenYears).sign(key)}`);
    expect([r.status, codeOf(r)]).toEqual([401, 'AUTH_INVALID_TOKEN']);
  });

  it('says why in the error context (reason)', async () => {
    const v = createTokenVerifier({ secret: TEST_JWT_SECRET, maxLifetimeSec: 7200 });
    await expect(v.verify(await jwt().sign(key))).rejects.toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
      context: { reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'exp' },
    });
    await expect(v.verify(await jwt().setIssuedAt().setExpirationTime('1d').sign(key))).rejects.toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
      context: { reason: 'lifetime', maxLifetimeSec: 7200 },
    });
  });

  it('npm run token mints tokens the API accepts and refuses a --ttl over the cap', async () => {
    const env = { ...process.env, JWT_SECRET: TEST_JWT_SECRET, JWT_MAX_LIFETIME_SEC: '7200' };
    const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--sub', 'alice', '--role', 'uploader'], { cwd: ROOT, env });
    expect(await status(stdout.trim())).toEqual([200, undefined]);
    const tooLong = await run('npm', ['run', '--silent', 'token', '--', '--sub', 'alice', '--ttl', '7201'], { cwd: ROOT, env }).catch(
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(tooLong).toMatchObject({ code: 1 });
    expect((tooLong as { stderr: string }).stderr).toContain('JWT_MAX_LIFETIME_SEC');
  });
});
