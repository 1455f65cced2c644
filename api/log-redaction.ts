import type { IncomingMessage } from 'node:http';
import type { ChildLoggerOptions, Logger } from 'pino';

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Query parameters that carry credentials: `access_token` (pages opened from a link), `sig`/`exp` pairs of signed HLS
 * and archive URLs, and the usual names of tokens, keys and signatures (OAuth, S3 presigned URLs). Matching is on the
 * decoded, lower-cased name, because the query parser decodes `access%5Ftoken` to `access_token` and accepts it.
 */
const SECRET_PARAM = /token|secret|passw|signature|credential|^sig$|^key$|api[-_]?key|^auth(orization)?$|jwt|^code$/;

/** Headers that carry credentials; never logged even when a handler logs a whole headers object. */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'upload-token', 'x-api-key', 'x-upload-token'];

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' ')).toLowerCase();
  } catch {
    // Malformed escapes: fastify's parser keeps such names as they are, so compare them as they are.
    return raw.toLowerCase();
  }
}

/** `url` with the value of every credential-bearing query parameter replaced; the path and other parameters stay. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return SECRET_PARAM.test(decodeName(name)) && eq >= 0 ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${query.join('&')}`;
}

/** Fields of the request that are logged (fastify's default set, with the URL redacted). */
interface LoggedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly host: string | undefined;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
}

/** Both fastify requests and raw Node requests reach the `req` serializer. */
type SerializableRequest = Partial<IncomingMessage> & { readonly host?: string; readonly ip?: string };

function serializeRequest(req: SerializableRequest): LoggedRequest {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : undefined,
    host: req.host ?? req.headers?.host,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

const headerPaths = (prefix: string): string[] => SECRET_HEADERS.map((h) => `${prefix}headers["${h}"]`);

/**
 * Serializers and redaction for every log line of the HTTP app. The `req` serializer replaces fastify's (which logs
 * `req.url` with its query string, so `?access_token=<JWT>` and `?sig=` ended up in the request log in full); `url`
 * covers other lines that log a URL. The redact paths stop credential headers from leaking when some handler logs
 * `headers` or `req.headers` itself.
 */
export const LOG_REDACTION: ChildLoggerOptions = {
  serializers: {
    req: (req: SerializableRequest) => serializeRequest(req),
    url: (url: unknown) => (typeof url === 'string' ? redactUrl(url) : url),
  },
  redact: { paths: [...headerPaths(''), ...headerPaths('req.'), ...headerPaths('res.'), ...headerPaths('*.')], censor: REDACTED },
};

/**
 * A child of `logger` that logs requests with credentials redacted. fastify merges the logger's own serializers over
 * its defaults, so this `req` serializer is the one used for "incoming request" lines.
 */
export function withLogRedaction(logger: Logger): Logger {
  return logger.child({}, LOG_REDACTION);
}
