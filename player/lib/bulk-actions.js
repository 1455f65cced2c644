// @ts-check
// The API calls behind bulk decisions and undo.
import { messageFor } from './messages.js';
import { api } from './session.js';

/**
 * @typedef {{ id: string, ok: true, moderationStatus: string, undoUntil: string }
 *   | { id: string, ok: false, error: { code: string, message: string } }} BulkItem
 */

/**
 * Approves or rejects `ids` in one request (POST /api/moderation/decisions); each video gets its own result.
 * @param {string[]} ids
 * @param {'approve' | 'reject'} decision
 * @param {string} notes shared by all; required to reject
 * @param {string} token
 * @returns {Promise<{ done: string[], failed: Array<{ id: string, code: string }>, undoUntil: string | null }>}
 */
export async function decideMany(ids, decision, notes, token) {
  /** @type {{ items: BulkItem[] }} */
  const res = await api('/api/moderation/decisions', { token, method: 'POST', body: { ids, decision, ...(notes ? { notes } : {}) } });
  /** @type {string[]} */
  const done = [];
  /** @type {Array<{ id: string, code: string }>} */
  const failed = [];
  /** @type {string | null} */
  let undoUntil = null;
  for (const item of res.items) {
    if (item.ok) {
      done.push(item.id);
      // The earliest end: every decision of the batch can still be undone until then.
      if (undoUntil === null || item.undoUntil < undoUntil) undoUntil = item.undoUntil;
    } else failed.push({ id: item.id, code: item.error.code });
  }
  return { done, failed, undoUntil };
}

/**
 * Undoes the caller's decisions on `ids` (each its own request, in parallel); the codes of those that failed.
 * @param {string[]} ids
 * @param {string} token
 * @returns {Promise<string[]>}
 */
export async function undoMany(ids, token) {
  const results = await Promise.allSettled(
    ids.map((id) => api(`/api/moderation/videos/${encodeURIComponent(id)}/undo`, { token, method: 'POST', body: {} })),
  );
  return results.flatMap((r) => (r.status === 'rejected' ? [/** @type {{ code?: string }} */ (r.reason).code ?? 'NETWORK'] : []));
}

/**
 * What the page says after a bulk decision: how many went through (`short`, for the undo bar), and why the others
 * did not (`full`).
 * @param {'approve' | 'reject'} decision
 * @param {{ done: string[], failed: Array<{ id: string, code: string }> }} r
 * @param {(id: string) => string} titleOf
 */
export function bulkSummary(decision, r, titleOf) {
  const n = r.done.length;
  const short = `${decision === 'approve' ? 'Approved' : 'Rejected'} ${n} video${n === 1 ? '' : 's'}.`;
  if (!r.failed.length) return { short, full: short };
  return { short, full: `${short} Not decided: ${r.failed.map((f) => `“${titleOf(f.id)}” — ${messageFor(f.code)}`).join('; ')}` };
}
