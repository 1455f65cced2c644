import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';

/** Keyset page parameters shared by every list route. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
});

const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

/** Opaque cursor: base64url of "<created_at as Postgres text>|<id>". */
export function encodeCursor(row: { cursor_ts: string; id: string }): string {
  return Buffer.from(`${row.cursor_ts}|${row.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [ts, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const ok = ts !== undefined && id !== undefined && PG_TIMESTAMPTZ.test(ts) && z.uuid().safeParse(id).success;
  if (!ok) throw new PipelineError('API_BAD_REQUEST', 'Bad cursor; pass nextCursor unchanged.', { cursor });
  return { createdAt: ts, id };
}
