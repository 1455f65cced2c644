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

/** The token's claims (unverified: only for display and upload fingerprints; the API verifies the token). */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

/** An API error with the stable code from `{"error": {"code"}}` (or HTTP_<status> when the body has none). */
export class ApiError extends Error {
  constructor(code, status) {
    super(code);
    this.code = code;
    this.status = status;
  }
}

export async function errorCodeOf(res) {
  const body = await res.json().catch(() => ({}));
  return body?.error?.code ?? `HTTP_${res.status}`;
}

/** fetch + JSON with the bearer token; throws ApiError for non-2xx answers. */
export async function api(path, { token, method = 'GET', body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new ApiError(await errorCodeOf(res), res.status);
  return res.json();
}
