// @ts-check
// Access token handling shared by the pages. The platform's login opens a page with ?access_token=<JWT>; we keep it
// in sessionStorage (per tab, gone when the tab closes) and strip it from the address bar with history.replaceState,
// so it does not end up in bookmarks, screenshots or Referer headers.
const KEY = 'kidstream.accessToken';

/** sessionStorage, or null where the browser denies it (third-party iframes with storage partitioning/blocking). */
function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function takeAccessToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('access_token');
  const store = storage();
  if (fromUrl) {
    store?.setItem(KEY, fromUrl);
    url.searchParams.delete('access_token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
  return fromUrl ?? store?.getItem(KEY) ?? null;
}

/**
 * The token's claims (unverified: only for display and upload fingerprints; the API verifies the token).
 * @param {string} token
 * @returns {{ sub?: string }}
 */
export function claimsOf(token) {
  try {
    // A token without a second part throws here (undefined.replace), like any other malformed token.
    const part = /** @type {string} */ (token.split('.')[1]).replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

/** An API error with the stable code from `{"error": {"code"}}` (or HTTP_<status> when the body has none). */
export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {number} status
   */
  constructor(code, status) {
    super(code);
    this.code = code;
    this.status = status;
  }
}

/** @param {Response} res */
export async function errorCodeOf(res) {
  /** @type {{ error?: { code?: string } } | null} */
  const body = await res.json().catch(() => ({}));
  return body?.error?.code ?? `HTTP_${res.status}`;
}

/**
 * fetch + JSON with the bearer token; throws ApiError for non-2xx answers. `T` is the shape the caller expects the
 * answer to have (see the typedefs below); nothing checks it at run time.
 * @template [T=unknown]
 * @param {string} path
 * @param {{ token?: string | null, method?: string, body?: unknown }} [options]
 * @returns {Promise<T>}
 */
export async function api(path, { token, method = 'GET', body } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new ApiError(await errorCodeOf(res), res.status);
  return res.json();
}

// The API's JSON as the pages read it: only the fields they use. api/routes/video-view.ts is the contract.
/**
 * A signed playback object (`GET /api/playback/:id`, or a video's `playback`); the embed page builds one from its URL.
 * @typedef {{ url: string, title?: string, posterUrl?: string | null, storyboardUrl?: string | null, scope?: 'public' | 'preview', analyticsSession?: string | null }} Playback
 */
/**
 * A video as lists show it (`GET /api/moderation/queue` items).
 * @typedef {object} VideoSummary
 * @property {string} id
 * @property {string} title
 * @property {string | null} uploaderId
 * @property {string} status uploaded, processing, ready, failed, rejected or infected
 * @property {string | null} stage the processing stage (scan, validate, … done)
 * @property {number} progress percent of the current stage
 * @property {number | null} overallProgress percent of the whole way to ready (null once failed or refused)
 * @property {{ for: string, since: string } | null} waiting set while stage is `waiting`: the service the job waits for
 * @property {{ code: string } | null} error
 * @property {number | null} durationSec
 * @property {{ status: string, notes: string | null }} moderation
 * @property {string} createdAt ISO 8601
 */
/**
 * One video in full (`GET /api/videos/:id`).
 * @typedef {{ name: string, width: number | null, height: number | null, codecs: string, bandwidth: number }} RenditionInfo
 * @typedef {VideoSummary & { description: string, playback: Playback | null, previewable: boolean,
 *   sourceSizeBytes: number | null, renditions: RenditionInfo[],
 *   scan: { result: 'clean' | 'infected' | null, at: string | null } }} VideoDetail
 */
