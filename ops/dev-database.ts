import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** A database of its own on a development PostgreSQL (tests, benchmarks): created empty, dropped when done. */
export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database, closing whatever is still connected to it. Idempotent. */
  drop(): Promise<void>;
}

/** Creates `<prefix>_<12 hex>` through `adminUrl` (a role that may create databases); the name is safe to interpolate. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  if (!/^[a-z]+$/.test(prefix)) throw new RangeError(`database prefix ${JSON.stringify(prefix)} is not lower-case letters`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: u.toString(),
    name,
    drop: () => {
      dropped ??= (async () => {
        const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      })();
      return dropped;
    },
  };
}
