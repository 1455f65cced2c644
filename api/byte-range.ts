import type { ByteRange } from '../storage/types.ts';

/**
 * What a Range header asks of an object of `size` bytes (RFC 9110 §14.1.2, single `bytes=a-b`, `bytes=a-` or
 * `bytes=-n` ranges only):
 * - undefined: no Range header;
 * - 'malformed': not one byte range (multi-range, another unit, `bytes=-`); §14.2 lets a server ignore it, and each
 *   route decides whether to;
 * - 'unsatisfiable': starts at or past the end, or ends before it starts (answer 416);
 * - otherwise the inclusive range, its end clamped to the last byte.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'malformed' | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'malformed';
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}
