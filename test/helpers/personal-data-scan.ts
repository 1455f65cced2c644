import { readFile, stat } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { isPipelineError } from '../../core/errors.ts';
import type { Sql } from '../../db/client.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { listFiles } from './app.ts';

/** One place an id was found. */
export interface Hit {
  readonly where: string;
  readonly id: string;
}

/**
 * Rows per table of the public schema that mention any of `ids` in any column (every column cast to text, so uuid,
 * text, jsonb and arrays alike). Not limited to the tables db/personal-data.ts lists: a table added without an entry
 * there shows up here.
 */
export async function rowsMentioning(sql: Sql, ids: readonly string[]): Promise<Map<string, number>> {
  const cols = await sql<{ table_name: string; column_name: string }[]>`
    SELECT c.table_name, c.column_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`;
  const byTable = new Map<string, string[]>();
  for (const c of cols) byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), c.column_name]);
  const patterns = ids.map((id) => `%${id.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  const out = new Map<string, number>();
  for (const [table, columns] of byTable) {
    const anyCol = columns.map((c) => sql`${sql(c)}::text LIKE ANY(${sql.array(patterns)}::text[])`);
    const where = anyCol.slice(1).reduce((a, b) => sql`${a} OR ${b}`, anyCol[0]!);
    const [r] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql(table)} WHERE ${where}`;
    if (r && r.n > 0) out.set(table, r.n);
  }
  return out;
}

const SMALL = 1024 * 1024;
const findIds = (text: string, ids: readonly string[]): string[] => ids.filter((id) => text.includes(id));

/** Files under `dir` whose path or (for files up to 1 MiB) content names one of `ids`. */
export async function filesMentioning(dir: string, ids: readonly string[]): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const file of await listFiles(dir)) {
    for (const id of findIds(file, ids)) hits.push({ where: `file ${file}`, id });
    const size = (await stat(file).catch(() => undefined))?.size ?? Infinity;
    if (size > SMALL) continue;
    const text = await readFile(file, 'latin1').catch(() => '');
    for (const id of findIds(text, ids)) hits.push({ where: `content of ${file}`, id });
  }
  return hits;
}

/** Objects of a store whose key or (up to 1 MiB) content names one of `ids`. */
export async function objectsMentioning(name: string, storage: ObjectStorage, ids: readonly string[]): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const key of await storage.list('')) {
    for (const id of findIds(key, ids)) hits.push({ where: `${name}:${key}`, id });
    const info = await storage.head(key);
    if (!info || info.size > SMALL) continue;
    const chunks: Buffer[] = [];
    // A running job may remove an object between the list and the read (a staged upload once its master exists).
    const body = await storage.get(key).catch((err: unknown) => {
      if (isPipelineError(err, 'STORAGE_NOT_FOUND')) return undefined;
      throw err;
    });
    if (!body) continue;
    for await (const c of body) chunks.push(Buffer.from(c as Buffer));
    const text = Buffer.concat(chunks).toString('latin1') + JSON.stringify(info.metadata);
    for (const id of findIds(text, ids)) hits.push({ where: `content of ${name}:${key}`, id });
  }
  return hits;
}

/**
 * Redis keys under a queue prefix whose name or value names one of `ids`. BullMQ's event streams (`…:events`, job ids
 * of recent events, capped by length) are reported apart: they age out by volume and are not erased (runbook).
 */
export async function redisMentioning(redisUrl: string, prefix: string, ids: readonly string[]): Promise<{ hits: Hit[]; streams: Hit[] }> {
  const redis = new Redis(redisUrl);
  const hits: Hit[] = [];
  const streams: Hit[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const values =
          type === 'hash'
            ? Object.values(await redis.hgetall(key))
            : type === 'string'
              ? [(await redis.get(key)) ?? '']
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, '0', '-1')
                    : type === 'stream'
                      ? (await redis.xrange(key, '-', '+')).flatMap(([, fields]) => fields)
                      : [];
        const found = findIds([key, ...values].join('\n'), ids).map((id) => ({ where: `redis ${key}`, id }));
        (type === 'stream' ? streams : hits).push(...found);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return { hits, streams };
}
