// @ts-check
// The moderator's queue filters (status, order, uploader, title text) as GET /api/moderation/queue query parameters.

/**
 * Calls `onChange` when a filter changes: at once for the selects, after a short pause in typing for the text fields
 * (one request per word, not per key).
 * @param {HTMLFormElement} form
 * @param {() => void} onChange
 */
export function wireFilters(form, onChange) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typing;
  form.addEventListener('change', () => {
    clearTimeout(typing);
    onChange();
  });
  form.addEventListener('input', (e) => {
    if (!(e.target instanceof HTMLInputElement)) return;
    clearTimeout(typing);
    typing = setTimeout(onChange, 300);
  });
  // Enter in a text field applies the filters now instead of submitting the form.
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(typing);
    onChange();
  });
}

/**
 * The query string for the form's current filters (empty fields left out), e.g. `status=ready&q=zoo`.
 * @param {HTMLFormElement} form
 */
export function filterQuery(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    const v = String(value).trim();
    if (v) params.set(name, v);
  }
  return params.toString();
}

/** What the empty queue says: nothing waits at all, or nothing matches the filters. @param {HTMLFormElement} form */
export function emptyText(form) {
  const params = new URLSearchParams(filterQuery(form));
  params.delete('order');
  return params.size > 0 ? 'No video matches these filters.' : 'Nothing to review. New videos appear here automatically.';
}
