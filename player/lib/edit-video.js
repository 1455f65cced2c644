// @ts-check
// The uploader's edit dialog for a video's title and description (PATCH /api/videos/:id, owner only). Title and
// description are shown to children: changing them on a published video sends it back for review (the API decides;
// the dialog says so before saving).
import { messageFor } from './messages.js';
import { api } from './session.js';

/** @typedef {import('./session.js').VideoSummary} VideoSummary */

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Opens the dialog (wired by wireEditDialog) for `v`.
 * @param {VideoSummary} v
 * @param {string} token
 */
export async function editVideo(v, token) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('edit-dialog'));
  const title = /** @type {HTMLInputElement} */ (byId('edit-title'));
  const description = /** @type {HTMLTextAreaElement} */ (byId('edit-description'));
  const error = byId('edit-error');
  // The list has no description: the video's own answer has it.
  /** @type {{ description: string }} */
  const full = await api(`/api/videos/${encodeURIComponent(v.id)}`, { token });
  title.value = v.title;
  description.value = full.description;
  error.textContent = '';
  byId('edit-review-hint').hidden = v.moderation.status !== 'approved';
  dialog.dataset.id = v.id;
  dialog.showModal();
  title.focus();
}

/**
 * Wires the dialog's buttons once per page.
 * @param {string} token
 * @param {(saved: VideoSummary) => void} onSaved
 */
export function wireEditDialog(token, onSaved) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('edit-dialog'));
  const title = /** @type {HTMLInputElement} */ (byId('edit-title'));
  const description = /** @type {HTMLTextAreaElement} */ (byId('edit-description'));
  const save = /** @type {HTMLButtonElement} */ (byId('edit-save'));
  byId('edit-cancel').addEventListener('click', () => dialog.close());
  // A message about what was typed before goes once the person types again.
  byId('edit-form').addEventListener('input', () => (byId('edit-error').textContent = ''));
  byId('edit-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!title.value.trim()) {
      byId('edit-error').textContent = 'Give the video a title.';
      return title.focus();
    }
    save.disabled = true;
    try {
      /** @type {VideoSummary} */
      const saved = await api(`/api/videos/${encodeURIComponent(dialog.dataset.id ?? '')}`, {
        token,
        method: 'PATCH',
        body: { title: title.value.trim(), description: description.value },
      });
      dialog.close();
      onSaved(saved);
    } catch (err) {
      byId('edit-error').textContent = messageFor(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
    } finally {
      save.disabled = false;
    }
  });
}

/**
 * Wires the dialog and returns the list's Edit handler; after a save the page says what happens next and reloads
 * the list.
 * @param {string} token
 * @param {{ setStatus: (text: string) => void, showError: (code: string) => void, refresh: () => void }} page
 * @returns {(v: VideoSummary) => void}
 */
export function editorFor(token, page) {
  wireEditDialog(token, (saved) => {
    page.setStatus(
      saved.moderation.status === 'pending'
        ? `Saved “${saved.title}”. A moderator reviews the new text before anyone can watch it.`
        : `Saved “${saved.title}”.`,
    );
    page.refresh();
  });
  return (v) => void editVideo(v, token).catch((/** @type {{ code?: string }} */ err) => page.showError(err.code ?? 'NETWORK'));
}
