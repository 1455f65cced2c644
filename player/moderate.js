// @ts-check
// Moderator queue: polls GET /api/moderation/queue, previews the selected video over HLS (preview-scoped signed URL,
// also while it is still transcoding when the API marks it `previewable`), approves/rejects with notes, one video or
// a selection at once; a decision can be undone for a few seconds (the API's undo window).
import { bulkSummary, decideMany, undoMany } from './lib/bulk-actions.js';
import { BulkSelection, showSelection } from './lib/bulk-select.js';
import { showTotals } from './lib/analytics-totals.js';
import { createPlayer } from './lib/hls-player.js';
import { messageFor } from './lib/messages.js';
import { metaText, queueItem } from './lib/queue-item.js';
import { emptyText, filterQuery, wireFilters } from './lib/queue-filters.js';
import { showTechInfo, showUploaderHistory, wirePresets } from './lib/review-info.js';
import { api, takeAccessToken } from './lib/session.js';
import { wireShortcuts } from './lib/shortcuts.js';
import { createUndoBar } from './lib/undo-bar.js';

/** @typedef {import('./lib/session.js').VideoSummary} VideoSummary */
/** @typedef {import('./lib/session.js').VideoDetail} VideoDetail */
/**
 * The elements of moderate.html this script uses whose type matters, by id; any other id is a plain element.
 * @typedef {{ queue: HTMLUListElement, notes: HTMLTextAreaElement, approve: HTMLButtonElement,
 *   reject: HTMLButtonElement, filters: HTMLFormElement, 'select-all': HTMLInputElement, 'bulk-notes': HTMLInputElement,
 *   'undo-button': HTMLButtonElement }} PageElements
 */
/**
 * @template {string} K
 * @param {K} id
 * @returns {K extends keyof PageElements ? PageElements[K] : HTMLElement}
 */
const $ = (id) => /** @type {K extends keyof PageElements ? PageElements[K] : HTMLElement} */ (document.getElementById(id));
const token = takeAccessToken();
const POLL_MS = 3000;
/** id → queue item (kept in API order: oldest first). @type {Map<string, VideoSummary>} */
let items = new Map();
/** id → detail promise (poster and preview URLs), fetched once per video. @type {Map<string, Promise<VideoDetail>>} */
const details = new Map();
/** @type {string | null} */
let selected = null;
/** @type {string | null} */
let previewing = null;
/** Bumped by every poll: an answer for filters that changed meanwhile is dropped. */
let pollSeq = 0;
const showPicked = () =>
  showSelection({ list: $('queue'), bar: $('bulk'), count: $('bulk-count'), all: $('select-all') }, selection.ids, items.size);
const selection = new BulkSelection(showPicked);
const undoBar = createUndoBar({ bar: $('undo'), text: $('undo-text'), button: $('undo-button') }, undo);
const player = createPlayer($('preview'), { refresh: () => detail(/** @type {string} */ (previewing), true).then((d) => d.playback) });

/** What the page said last stays a while before the queue count replaces it (polls come every few seconds). */
let saidUntil = 0;
const setStatus = (/** @type {string} */ t, quiet = false) => {
  if (quiet && Date.now() < saidUntil) return;
  if (!quiet) saidUntil = Date.now() + 10_000;
  $('status').textContent = t;
};
const showError = (/** @type {string | null} */ code) => void ($('error').textContent = code ? messageFor(code) : '');

/**
 * @param {string} id
 * @returns {Promise<VideoDetail>}
 */
function detail(id, fresh = false) {
  if (fresh || !details.has(id)) {
    /** @type {Promise<VideoDetail>} */
    const p = api(`/api/videos/${encodeURIComponent(id)}`, { token });
    p.catch(() => details.delete(id));
    details.set(id, p);
  }
  return /** @type {Promise<VideoDetail>} */ (details.get(id)); // set just above when missing
}

function render() {
  const list = $('queue');
  const children = /** @type {HTMLElement[]} */ ([...list.children]);
  // renderItem gives every item its data-id.
  const existing = new Map(children.map((li) => [/** @type {string} */ (li.dataset.id), li]));
  for (const [id, li] of existing) if (!items.has(id)) li.remove();
  /** @type {HTMLElement | null} */
  let prev = null;
  for (const item of items.values()) {
    const known = existing.get(item.id);
    // A row already on the page follows its video (processing 32 % → ready) without being rebuilt.
    const meta = known?.querySelector('.meta');
    if (meta) meta.textContent = metaText(item);
    const li =
      known ??
      queueItem(item, {
        onSelect: select,
        onToggle: (id, range) => selection.toggle(id, [...items.keys()], range),
        poster: detail(item.id).then((d) => d.playback?.posterUrl ?? null),
      });
    if (li.previousElementSibling !== prev || !li.isConnected) {
      if (prev) prev.after(li);
      else list.prepend(li);
    }
    prev = li;
  }
  $('count').textContent = `(${items.size})`;
  $('empty').hidden = items.size > 0;
  $('empty').textContent = emptyText($('filters'));
  document.body.dataset.queueSize = String(items.size);
  selection.prune(items);
  showPicked();
}

async function poll() {
  const seq = ++pollSeq;
  try {
    /** @type {{ items: VideoSummary[] }} */
    const { items: page } = await api(`/api/moderation/queue?limit=50&${filterQuery($('filters'))}`, { token });
    if (seq !== pollSeq) return;
    items = new Map(page.map((i) => [i.id, i]));
    showError(null);
    render();
    if (selected && !items.has(selected)) selected = null;
    // The selected video may have finished transcoding since it was selected: its decisions open without a reselect,
    // and its preview starts once there is one.
    if (selected) {
      const item = items.get(selected);
      enableDecisions(item);
      if (item && previewing === selected && !player.source) {
        previewing = null;
        details.delete(selected);
        select(selected, { focus: false });
      }
    }
    if (!selected && items.size) select(/** @type {string} */ ([...items.keys()][0]), { focus: false });
    if (!items.size) {
      $('review').hidden = true;
      previewing = null;
      player.destroy();
    }
    setStatus(`${items.size} video${items.size === 1 ? '' : 's'} waiting.`, true);
  } catch (err) {
    showError(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
  }
}

/** Why Approve is not available for the item, or '' when it is. @param {VideoSummary | undefined} item */
function approveBlocked(item) {
  if (!item) return 'Select a video first.';
  if (item.status === 'ready') return '';
  return `Approve opens when processing finishes (${Math.round(item.progress)}% done). Rejecting works now.`;
}

/**
 * A video previewed during its transcode (the API's `previewable`) can be rejected at once but approved only once
 * ready; the page says so next to the buttons.
 * @param {VideoSummary | undefined} item
 */
function enableDecisions(item) {
  const why = approveBlocked(item);
  $('approve').disabled = why !== '';
  $('reject').disabled = !item;
  $('decision-hint').textContent = why;
}

/**
 * @param {string} id
 * @param {{ focus?: boolean }} [options]
 */
async function select(id, { focus = true } = {}) {
  selected = id;
  for (const li of /** @type {HTMLCollectionOf<HTMLElement>} */ ($('queue').children)) {
    // Roving tabindex: Tab reaches the selected item, j/k move between items.
    li.setAttribute('aria-current', String(li.dataset.id === id));
    li.tabIndex = li.dataset.id === id ? 0 : -1;
  }
  const li = document.getElementById(`item-${id}`);
  if (focus) li?.focus();
  const item = items.get(id);
  if (!item) return;
  $('review').hidden = false;
  $('preview-title').textContent = item.title;
  $('notes').value = '';
  enableDecisions(item);
  if (previewing === id) return;
  previewing = id;
  document.body.dataset.previewing = id;
  try {
    const d = await detail(id);
    if (previewing !== id) return;
    $('preview-meta').textContent = d.description || '';
    showTechInfo($('tech'), d);
    $('history-uploader').textContent = d.uploaderId ?? 'unknown';
    showUploaderHistory($('history'), d.uploaderId, id, /** @type {string} */ (token)).catch(() => undefined);
    if (d.playback && (d.status === 'ready' || d.previewable !== false)) player.load(d.playback);
    else $('preview-meta').textContent = 'No preview yet (still processing).';
  } catch (err) {
    showError(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
  }
}

/** @param {'approve' | 'reject'} decision */
async function decide(decision) {
  const id = selected;
  if (!id) return;
  const notes = $('notes').value.trim();
  if (decision === 'reject' && !notes) {
    setStatus('Write a note for the uploader before rejecting.');
    $('notes').focus();
    return;
  }
  const title = items.get(id)?.title ?? id;
  /** @type {{ undoUntil: string }} */
  let res;
  try {
    res = await api(`/api/moderation/videos/${encodeURIComponent(id)}/${decision}`, {
      token,
      method: 'POST',
      body: notes ? { notes } : {},
    });
  } catch (err) {
    showError(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
    return;
  }
  const done = `${decision === 'approve' ? 'Approved' : 'Rejected'} “${title}”.`;
  undoBar.offer([id], done, res.undoUntil);
  const keys = [...items.keys()];
  const next = keys[keys.indexOf(id) + 1] ?? keys[keys.indexOf(id) - 1];
  items.delete(id);
  details.delete(id);
  render();
  previewing = null;
  player.destroy();
  setStatus(done);
  if (next) select(next);
  else {
    selected = null;
    $('review').hidden = true;
  }
}

/**
 * Decides every selected video at once with the shared note; those that could not be decided stay selected.
 * @param {'approve' | 'reject'} decision
 */
async function decideSelected(decision) {
  const ids = [...items.keys()].filter((id) => selection.ids.has(id));
  const notes = $('bulk-notes').value.trim();
  if (!ids.length) return;
  if (decision === 'reject' && !notes) {
    setStatus('Write a note for the uploaders before rejecting.');
    return $('bulk-notes').focus();
  }
  try {
    const r = await decideMany(ids, decision, notes, /** @type {string} */ (token));
    const said = bulkSummary(decision, r, (id) => items.get(id)?.title ?? id);
    if (r.undoUntil) undoBar.offer(r.done, said.short, r.undoUntil);
    setStatus(said.full);
    showError(null);
    $('bulk-notes').value = '';
    selection.set(r.failed.map((f) => f.id));
  } catch (err) {
    return showError(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
  }
  await poll();
}

/** Takes the last decision back: the videos return to the queue (the API revokes links issued meanwhile). @param {string[]} ids */
async function undo(ids) {
  const failed = await undoMany(ids, /** @type {string} */ (token));
  await poll();
  showError(failed[0] ?? null);
  const n = ids.length - failed.length;
  if (n) setStatus(`Undone: ${n === 1 ? 'the video is' : `${n} videos are`} back in the queue.`);
}

/** @param {number} delta */
function move(delta) {
  const keys = [...items.keys()];
  if (!keys.length) return;
  const i = Math.max(0, keys.indexOf(/** @type {string} */ (selected))); // none selected: -1, so the first
  select(/** @type {string} */ (keys[Math.min(keys.length - 1, Math.max(0, i + delta))]));
}

const toggle = (/** @type {boolean} */ range) => selected && selection.toggle(selected, [...items.keys()], range);
wireShortcuts({
  keys: {
    j: () => move(1),
    k: () => move(-1),
    // Pressing `a` when Approve is not available says why nothing happened.
    a: () => ($('approve').disabled ? setStatus(approveBlocked(selected ? items.get(selected) : undefined)) : decide('approve')),
    r: () => $('notes').focus(),
    p: () => (player.video.paused ? player.play() : player.video.pause()),
    x: () => toggle(false),
    X: () => toggle(true),
    u: () => undoBar.run(),
  },
  submitNotes: () => decide('reject'),
  leaveNotes: () => document.getElementById(`item-${selected}`)?.focus(),
});
wirePresets($('presets'), $('notes'));
$('approve').addEventListener('click', () => decide('approve'));
$('reject').addEventListener('click', () => decide('reject'));
$('bulk-approve').addEventListener('click', () => decideSelected('approve'));
$('bulk-reject').addEventListener('click', () => decideSelected('reject'));
$('bulk-clear').addEventListener('click', () => selection.set([]));
$('select-all').addEventListener('change', () => selection.set($('select-all').checked ? [...items.keys()] : []));
wireFilters($('filters'), () => {
  selection.set([]);
  poll();
});

if (!token) showError('AUTH_MISSING_TOKEN');
else {
  poll();
  setInterval(poll, POLL_MS);
  showTotals($('totals'), token);
}
