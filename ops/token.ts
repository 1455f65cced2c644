import { parseArgs } from 'node:util';
import { issueAccessToken } from '../api/auth.ts';
import { describeError } from '../core/errors.ts';
import { ROLES, type Role } from '../core/types.ts';
import { exitOnHelp } from './cli.ts';
import { loadConfig } from './config.ts';

/**
 * Dev/ops helper: prints an HS256 access token signed with JWT_SECRET.
 *   npm run token -- --sub alice --role uploader [--ttl 3600]
 * Deployments whose tokens come from an identity provider (JWT_PUBLIC_KEY) mint them there instead.
 */
const USAGE = `usage: npm run token -- --sub <user id> [--role uploader|moderator|admin] [--ttl <seconds, default 3600>]
  Prints an HS256 access token signed with JWT_SECRET (at most JWT_MAX_LIFETIME_SEC long).`;

async function main(): Promise<void> {
  exitOnHelp(USAGE);
  const { values } = parseArgs({
    options: { sub: { type: 'string' }, role: { type: 'string', default: 'uploader' }, ttl: { type: 'string', default: '3600' } },
  });
  const config = loadConfig(process.env);
  if (!config.jwt.secret) throw new Error('JWT_SECRET is not set; this helper signs HS256 tokens only.');
  if (!values.sub) throw new Error('--sub <user id> is required');
  if (!ROLES.includes(values.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  const ttlSec = Number(values.ttl);
  // The API refuses longer-lived tokens; minting one would only hand out a token that never works.
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > config.jwt.maxLifetimeSec) {
    throw new Error(`--ttl must be a whole number of seconds from 1 to ${config.jwt.maxLifetimeSec} (JWT_MAX_LIFETIME_SEC)`);
  }
  const token = await issueAccessToken({
    secret: config.jwt.secret,
    sub: values.sub,
    role: values.role as Role,
    ttlSec,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
