// @ts-check
// The error code of a failed tus request, as the upload page shows it.

/**
 * The API's `{"error": {"code"}}` body; @tus/server's own size check answers 413 with a plain-text body.
 * @param {Error & { originalResponse?: import('tus-js-client').HttpResponse | null }} err
 */
export async function codeOfTusError(err) {
  const res = err?.originalResponse;
  if (!res) return 'NETWORK';
  const status = res.getStatus();
  let code;
  try {
    code = JSON.parse(res.getBody())?.error?.code;
  } catch {
    code = undefined;
  }
  return code ?? (status === 413 ? 'INGEST_TOO_LARGE' : `HTTP_${status}`);
}
