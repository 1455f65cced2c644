import type { FastifyInstance } from 'fastify';
import { PipelineError } from '../core/errors.ts';
import { isUuid } from '../db/videos.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { cacheControlFor } from '../storage/keys.ts';

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
      .header('content-length', String(info.size))
      .header('cache-control', info.cacheControl ?? cacheControlFor(key));
    return reply.send(await o.storage.get(key));
  });
}
