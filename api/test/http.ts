/** Tiny JSON-over-HTTP client for API tests (real fetch against the listening server). */
export interface JsonResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  o: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers['authorization'] = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON (playlists, metrics): keep the text */
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** The stable error code of an error response. */
export const codeOf = (r: JsonResponse<unknown>): string | undefined => (r.body as { error?: { code?: string } } | undefined)?.error?.code;
