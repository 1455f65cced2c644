import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PipelineError } from '../core/errors.ts';
import type { LocalUrlSigner } from '../storage/local-url-signer.ts';
import type { ByteRange, ObjectInfo, ObjectStorage } from '../storage/types.ts';

export interface SignedObjectRoutesOptions {
  /** URL prefix, e.g. `/objects/archive`; the signer's baseUrl must end with it. */
  readonly prefix: string;
  readonly storage: ObjectStorage;
  readonly signer: LocalUrlSigner;
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range (RFC 9110 §14.1.2); multi-range is refused. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const bad = (): PipelineError => new PipelineError('STORAGE_RANGE_INVALID', `Unsatisfiable range ${header}.`, { size });
  if (!m || (m[1] === '' && m[2] === '')) throw bad();
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2]));
  if (size === 0 || start > end || start >= size) throw bad();
  return { start, end };
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
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`).header('content-length', String(range.end - range.start + 1));
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
    const range = parseRange(req.headers.range, info.size);
    headers(reply, info, range);
    return reply.send(await o.storage.get(key, range));
  });
}
