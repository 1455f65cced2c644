import { createHmac, timingSafeEqual } from 'node:crypto';
import { PipelineError } from '../core/errors.ts';
import { assertSafeKey } from './keys.ts';

export interface LocalUrlSignerOptions {
  /** HMAC secret (LOCAL_URL_SECRET); at least 16 characters. */
  readonly secret: string;
  /** Public URL under which the API serves this store's objects, e.g. `https://videos.example/objects/archive`. */
  readonly baseUrl: string;
  /** Clock in ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

const MAX_TTL_SEC = 7 * 24 * 3600;

/**
 * Presigned GET URLs for local disk: `<baseUrl>/<key>?exp=<unix>&sig=<hex HMAC-SHA256("GET\n<key>\n<exp>")>`, checked
 * by the API route that serves the store (api/object-routes.ts). Same lifetime limit as SigV4 (7 days).
 */
export class LocalUrlSigner {
  private readonly base: string;
  private readonly now: () => number;

  constructor(private readonly o: LocalUrlSignerOptions) {
    this.base = o.baseUrl.replace(/\/$/, '');
    this.now = o.now ?? Date.now;
  }

  private mac(key: string, exp: number): string {
    return createHmac('sha256', this.o.secret).update(`GET\n${key}\n${exp}`).digest('hex');
  }

  sign(key: string, expiresInSec = 3600): string {
    assertSafeKey(key);
    const exp = Math.floor(this.now() / 1000) + Math.min(MAX_TTL_SEC, Math.max(1, Math.floor(expiresInSec)));
    const path = key.split('/').map(encodeURIComponent).join('/');
    return `${this.base}/${path}?exp=${exp}&sig=${this.mac(key, exp)}`;
  }

  /** Throws STORAGE_URL_INVALID (bad or missing signature) or STORAGE_URL_EXPIRED. */
  verify(key: string, exp: string | undefined, sig: string | undefined): void {
    const e = Number(exp);
    if (!exp || !Number.isInteger(e) || !sig || !/^[0-9a-f]{64}$/.test(sig)) {
      throw new PipelineError('STORAGE_URL_INVALID', 'Missing or malformed exp/sig.', { key });
    }
    if (!timingSafeEqual(Buffer.from(this.mac(key, e), 'hex'), Buffer.from(sig, 'hex'))) {
      throw new PipelineError('STORAGE_URL_INVALID', 'Signature does not match.', { key });
    }
    if (e < this.now() / 1000) throw new PipelineError('STORAGE_URL_EXPIRED', `URL expired at ${e}.`, { key, exp: e });
  }
}
