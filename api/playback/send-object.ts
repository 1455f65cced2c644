import type { FastifyReply } from 'fastify';
import { PipelineError } from '../../core/errors.ts';
import { cacheControlFor } from '../../storage/keys.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { parseRange } from '../byte-range.ts';

/**
 * Streams a stored segment/init/image with its type and cache policy (the stored one unless `cacheControl` is given),
 * honouring a single Range (206/416).
 */
export async function sendObject(
  storage: ObjectStorage,
  reply: FastifyReply,
  key: string,
  rangeHeader: string | undefined,
  cacheControl?: string,
): Promise<FastifyReply> {
  const info = await storage.head(key);
  if (!info) throw new PipelineError('API_NOT_FOUND', 'No such HLS object.', { key });
  reply
    .header('content-type', info.contentType)
    .header('accept-ranges', 'bytes')
    .header('cache-control', cacheControl ?? info.cacheControl ?? cacheControlFor(key));
  // I-frame playlists address sub-ranges of segments with EXT-X-BYTERANGE, so players fetch them with Range. A header
  // that is not one byte range is ignored and the whole object sent, as RFC 9110 §14.2 allows.
  const parsed = parseRange(rangeHeader, info.size);
  const range = parsed === 'malformed' ? undefined : parsed;
  if (range === 'unsatisfiable') return reply.status(416).header('content-range', `bytes */${info.size}`).send();
  if (range) {
    reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
      .header('content-length', String(range.end - range.start + 1));
    return reply.send(await storage.get(key, range));
  }
  return reply.header('content-length', String(info.size)).send(await storage.get(key));
}
