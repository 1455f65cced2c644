import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PipelineError } from '../core/errors.ts';
import type { LocalUrlSigner } from '../storage/local-url-signer.ts';
import type { ByteRange, ObjectInfo, ObjectStorage } from '../storage/types.ts';
import { parseRange } from './byte-range.ts';

export interface SignedObjectRoutesOptions {
  /** URL prefix, e.g. `/objects/archive`; the signer's baseUrl must end with it. */
  readonly prefix: string;
  readonly storage: ObjectStorage;
  readonly signer: LocalUrlSigner;
}

/**
 * One satisfiable byte range or none: any other Range header is refused (416) rather than ignored, so a caller that
 * asked for part of a master never downloads all of it by mistake.
 */
function requestedRange(header: string | undefined, size: number): ByteRange | undefined {
  const range = parseRange(header, size);
  if (range === 'malformed' || range === 'unsatisfiable') {
    throw new PipelineError('STORAGE_RANGE_INVALID', `Unsatisfiable range ${header}.`, { size });
  }
  return range;
}

type Req = FastifyRequest<{ Params: { '*': string }; Querystring: { exp?: string; sig?: string } }>;

/** Verifies the URL and returns the object's info (API_NOT_FOUND when missing). */
async function authorise(req: Req, o: SignedObjectRoutesOptions): Promise<{ key: string; info: ObjectInfo }> {
  const key = req.params['*'];
  o.signer.verify(key, req.query.exp, req.query.sig);
  const info = await o.storage.head(key);
  if (!info) throw new PipelineError('API_NOT_FOUND', `No object ${key}.`, { key });
  return { key, info };
}

function headers(reply: FastifyReply, info: ObjectInfo, range: ByteRange | undefined): void {
  reply.header('accept-ranges', 'bytes').header('content-type', info.contentType).header('cache-control', 'private, no-store');
  if (range) {
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
      .header('content-length', String(range.end - range.start + 1));
  } else {
    reply.header('content-length', String(info.size));
  }
}

/**
 * Serves a local-disk store through presigned URLs (LocalUrlSigner): HEAD and ranged GET, as Cloudflare Stream's
 * copy-from-URL requires. Lets a local archive hand Stream a URL the way R2 would.
 */
export function registerSignedObjectRoutes(app: FastifyInstance, o: SignedObjectRoutesOptions): void {
  const url = `${o.prefix.replace(/\/$/, '')}/*`;
  app.head(url, async (req: Req, reply) => {
    const { info } = await authorise(req, o);
    headers(reply, info, undefined);
    return reply.send();
  });
  app.get(url, { exposeHeadRoute: false }, async (req: Req, reply) => {
    const { key, info } = await authorise(req, o);
    const range = requestedRange(req.headers.range, info.size);
    headers(reply, info, range);
    return reply.send(await o.storage.get(key, range));
  });
}
