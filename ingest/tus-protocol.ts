import { PipelineError } from '../core/errors.ts';

/** The one tus version this server speaks. */
export const TUS_VERSION = '1.0.0';
/** The only body type of a tus PATCH. */
export const PATCH_CONTENT_TYPE = 'application/offset+octet-stream';

/** Methods a client may tunnel through POST when a proxy blocks them (tus-js-client `overridePatchMethod`). */
const OVERRIDABLE = new Set(['PATCH', 'DELETE']);

/**
 * The request as the method it tunnels: a POST carrying `X-HTTP-Method-Override: PATCH` is a PATCH (the tus spec's
 * answer to proxies and frameworks that drop PATCH). Any other override is left alone, so it cannot turn a request
 * into a method its route was not meant to see.
 */
export function withMethodOverride(req: Request): Request {
  const override = req.headers.get('x-http-method-override')?.trim().toUpperCase();
  if (req.method !== 'POST' || !override || !OVERRIDABLE.has(override)) return req;
  // An own property over the request's getter: the body stream, signal and node runtime stay the same objects.
  Object.defineProperty(req, 'method', { value: override, configurable: true, enumerable: true });
  return req;
}

/**
 * What the tus spec asks of every request before anything else: a Tus-Resumable this server speaks (else 412, with
 * the versions it does speak in Tus-Version; @tus/server answers an unknown version with a plain 400) and, for PATCH,
 * the one body type (else 415, where @tus/server says 400).
 */
export function checkProtocol(req: Request): void {
  const version = req.headers.get('tus-resumable');
  if (req.method !== 'OPTIONS' && req.method !== 'GET' && version !== TUS_VERSION) {
    throw new PipelineError('INGEST_TUS_VERSION', `This server speaks tus ${TUS_VERSION} only; send Tus-Resumable: ${TUS_VERSION}.`, {
      version: version?.slice(0, 32) ?? null,
    });
  }
  if (req.method === 'PATCH' && req.headers.get('content-type') !== PATCH_CONTENT_TYPE) {
    throw new PipelineError('INGEST_CONTENT_TYPE', `A PATCH body must be sent as ${PATCH_CONTENT_TYPE}.`);
  }
}
