import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { createDb, type Sql } from '../client.ts';
import { migrate } from '../migrate.ts';
import { UploadQuotaLedger, type UploadQuotaLedgerOptions } from '../upload-quota.ts';

const HOUR = 3600_000;

describe('UploadQuotaLedger (PostgreSQL, injected clock)', () => {
  let db: TestDatabase;
  let sql: Sql;
  let now = Date.parse('2030-01-01T00:00:00Z');
  let seq = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = createDb({ url: db.url, max: 8 });
    await migrate(sql);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  const ledger = (o: Partial<UploadQuotaLedgerOptions> = {}): UploadQuotaLedger =>
    new UploadQuotaLedger({ sql, maxOpenUploads: 2, maxOpenPartials: 3, maxBytesPerDay: 1000, expiryMs: 24 * HOUR, now: () => now, ...o });
  const reserve = (l: UploadQuotaLedger, uploader: string, bytes = 1, kind: 'upload' | 'partial' = 'upload') => {
    const uploadId = `u${++seq}`;
    return l.reserve({ uploadId, uploader, kind, bytes }).then(() => uploadId);
  };
  const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
    p.then(
      () => undefined,
      (e: { code?: string }) => e.code,
    );

  it('lets exactly maxOpenUploads of many concurrent creations through (advisory lock per uploader)', async () => {
    const l = ledger({ maxOpenUploads: 3 });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => reserve(l, 'racer')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM upload_quota_entries WHERE uploader = 'racer'`;
    expect(row!.n).toBe(3);
  });

  it('released uploads stop counting as open; release is idempotent', async () => {
    const l = ledger();
    const [a] = [await reserve(l, 'rel'), await reserve(l, 'rel')];
    expect(await codeOf(reserve(l, 'rel'))).toBe('INGEST_QUOTA_OPEN_UPLOADS');
    await l.release([a!], 'finished');
    await l.release([a!], 'terminated');
    const [row] = await sql<{ closed_reason: string }[]>`SELECT closed_reason FROM upload_quota_entries WHERE upload_id = ${a!}`;
    expect(row!.closed_reason).toBe('finished');
    await reserve(l, 'rel');
  });

  it('uploads past the expiry window stop counting as open; with expiry 0 they never do', async () => {
    const l = ledger({ expiryMs: 2 * HOUR });
    await reserve(l, 'exp');
    await reserve(l, 'exp');
    expect(await codeOf(reserve(l, 'exp'))).toBe('INGEST_QUOTA_OPEN_UPLOADS');
    now += 2 * HOUR + 1;
    await reserve(l, 'exp');
    const never = ledger({ expiryMs: 0 });
    await reserve(never, 'forever');
    await reserve(never, 'forever');
    now += 100 * HOUR;
    expect(await codeOf(reserve(never, 'forever'))).toBe('INGEST_QUOTA_OPEN_UPLOADS');
  });

  it('counts declared bytes, partials included, over a rolling 24 h, and prunes rows that no longer count', async () => {
    const l = ledger({ maxOpenUploads: 0, maxOpenPartials: 0 });
    const big = await reserve(l, 'bytes', 600);
    await reserve(l, 'bytes', 300, 'partial');
    expect(await codeOf(reserve(l, 'bytes', 101))).toBe('INGEST_QUOTA_BYTES');
    await l.recordSize(big, 500);
    await reserve(l, 'bytes', 200);
    expect(await codeOf(reserve(l, 'bytes', 1))).toBe('INGEST_QUOTA_BYTES');
    now += 24 * HOUR + 1;
    await reserve(l, 'bytes', 1000);
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM upload_quota_entries WHERE uploader = 'bytes'`;
    expect(row!.n).toBe(1);
  });

  it('caps partials separately from whole uploads, and 0 disables a limit', async () => {
    const l = ledger();
    await reserve(l, 'mix');
    await reserve(l, 'mix');
    for (let i = 0; i < 3; i++) await reserve(l, 'mix', 1, 'partial');
    expect(await codeOf(reserve(l, 'mix', 1, 'partial'))).toBe('INGEST_QUOTA_OPEN_UPLOADS');
    const unlimited = ledger({ maxOpenUploads: 0, maxBytesPerDay: 0 });
    for (let i = 0; i < 5; i++) await reserve(unlimited, 'mix', 10_000);
  });
});
