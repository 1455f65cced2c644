// @ts-check
// Caption review on the moderator page: polls GET /api/moderation/captions, shows each pending caption's stored text
// (as text: captions are uploader input) and approves or rejects it. Viewers get a caption only once approved.
import { messageFor } from './lib/messages.js';
import { api, errorCodeOf, takeAccessToken } from './lib/session.js';

/**
 * A pending caption as the moderation queue lists it.
 * @typedef {{ videoId: string, videoTitle: string, lang: string, label: string, cueCount: number, uploadedBy: string,
 *   format: string, updatedAt: string }} PendingCaption
 */

const POLL_MS = 5000;
const token = takeAccessToken();
const list = /** @type {HTMLUListElement} */ (document.getElementById('captions-queue'));
const empty = /** @type {HTMLElement} */ (document.getElementById('captions-empty'));
const count = /** @type {HTMLElement} */ (document.getElementById('captions-count'));
/** Items on screen by key, so a poll never rebuilds one a moderator is typing notes into. @type {Map<string, HTMLLIElement>} */
const shown = new Map();

const keyOf = (/** @type {PendingCaption} */ c) => `${c.videoId}/${c.lang}/${c.updatedAt}`;
const path = (/** @type {PendingCaption} */ c) => `/api/videos/${encodeURIComponent(c.videoId)}/captions/${encodeURIComponent(c.lang)}`;

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 */
function node(tag, attrs = {}, text = '') {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.textContent = text;
  return el;
}

/** @param {PendingCaption} c */
function item(c) {
  const li = /** @type {HTMLLIElement} */ (node('li', { class: 'caption-item', 'data-caption': `${c.videoId}/${c.lang}` }));
  li.append(
    node('strong', {}, `${c.videoTitle} — ${c.label} (${c.lang})`),
    node('span', { class: 'meta' }, `${c.cueCount} cue${c.cueCount === 1 ? '' : 's'}, ${c.format.toUpperCase()} from ${c.uploadedBy}`),
  );
  const text = /** @type {HTMLDetailsElement} */ (node('details'));
  const pre = node('pre', { class: 'caption-text' }, 'Loading…');
  text.append(node('summary', {}, 'Read the captions'), pre);
  text.addEventListener(
    'toggle',
    async () => {
      const res = await fetch(path(c), { headers: { authorization: `Bearer ${token}` } });
      pre.textContent = res.ok ? await res.text() : messageFor(await errorCodeOf(res));
    },
    { once: true },
  );
  const notes = /** @type {HTMLInputElement} */ (
    node('input', { type: 'text', maxlength: '2000', 'aria-label': 'Notes (required to reject)' })
  );
  notes.placeholder = 'Notes (required to reject)';
  const approve = node('button', { type: 'button', class: 'approve' }, 'Approve');
  const reject = node('button', { type: 'button', class: 'danger reject' }, 'Reject');
  const hint = node('p', { class: 'hint', 'aria-live': 'polite' });
  /** @param {'approve' | 'reject'} decision */
  const decide = async (decision) => {
    if (decision === 'reject' && !notes.value.trim()) {
      hint.textContent = 'Write why, then reject.';
      notes.focus();
      return;
    }
    try {
      const body = notes.value.trim() ? { notes: notes.value.trim() } : {};
      await api(`/api/moderation/videos/${encodeURIComponent(c.videoId)}/captions/${encodeURIComponent(c.lang)}/${decision}`, {
        token,
        method: 'POST',
        body,
      });
      li.dataset.decided = decision;
      hint.textContent = decision === 'approve' ? 'Approved: viewers get these captions.' : 'Rejected.';
      setTimeout(poll, 800);
    } catch (err) {
      hint.textContent = messageFor(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
    }
  };
  approve.addEventListener('click', () => decide('approve'));
  reject.addEventListener('click', () => decide('reject'));
  const row = node('div', { class: 'buttons' });
  row.append(notes, approve, reject);
  li.append(text, row, hint);
  return li;
}

async function poll() {
  try {
    const { items } = /** @type {{ items: PendingCaption[] }} */ (await api('/api/moderation/captions', { token }));
    const keys = new Set(items.map(keyOf));
    for (const [k, li] of shown) {
      if (!keys.has(k)) {
        li.remove();
        shown.delete(k);
      }
    }
    for (const c of items) {
      if (shown.has(keyOf(c))) continue;
      const li = item(c);
      shown.set(keyOf(c), li);
      list.append(li);
    }
    count.textContent = `(${items.length})`;
    empty.hidden = items.length > 0;
    document.body.dataset['captionQueue'] = String(items.length);
  } catch (err) {
    count.textContent = messageFor(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
  }
}

if (token) {
  poll();
  setInterval(poll, POLL_MS);
}
