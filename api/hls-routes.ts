import type { FastifyInstance } from 'fastify';
import { PipelineError } from '../core/errors.ts';
import { isUuid } from '../db/videos.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { cacheControlFor } from '../storage/keys.ts';

/**
 * One `bytes=a-b` / `bytes=a-` / `bytes=-n` range (RFC 9110 §14.1.2); I-frame playlists address sub-ranges of
 * segments with EXT-X-BYTERANGE, so players fetch them with Range. undefined = serve the whole object.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

export interface HlsRoutesOptions {
  readonly storage: ObjectStorage;
}

/** Serves published HLS objects with their content type and cache policy. */
export function registerHlsRoutes(app: FastifyInstance, o: HlsRoutesOptions): void {
  app.get<{ Params: { id: string; '*': string } }>('/hls/:id/*', async (req, reply) => {
    const { id } = req.params;
    const rest = req.params['*'];
    if (!isUuid(id)) throw new PipelineError('API_NOT_FOUND', `No video ${id}.`, { id });
    const key = `hls/${id}/${rest}`;
    const info = await o.storage.head(key);
    if (!info) throw new PipelineError('API_NOT_FOUND', `No HLS object ${rest}.`, { key });
    reply
      .header('content-type', info.contentType)
      .header('accept-ranges', 'bytes')
      .header('cache-control', info.cacheControl ?? cacheControlFor(key));
    const range = parseRange(req.headers.range, info.size);
    if (range === 'unsatisfiable') return reply.status(416).header('content-range', `bytes */${info.size}`).send();
    if (range) {
      reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
        .header('content-length', String(range.end - range.start + 1));
      return reply.send(await o.storage.get(key, range));
    }
    reply.header('content-length', String(info.size));
    return reply.send(await o.storage.get(key));
  });
}
