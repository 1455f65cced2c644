// @ts-check
// Moderator queue: polls GET /api/moderation/queue, previews the selected video over HLS (preview-scoped signed URL,
// also while it is still transcoding when the API marks it `previewable`), approves/rejects with notes.
import { formatAge, formatTime } from './lib/format.js';
import { showTotals } from './lib/analytics-totals.js';
import { createPlayer } from './lib/hls-player.js';
import { messageFor } from './lib/messages.js';
import { showTechInfo, showUploaderHistory, wirePresets } from './lib/review-info.js';
import { api, takeAccessToken } from './lib/session.js';

/** @typedef {import('./lib/session.js').VideoSummary} VideoSummary */
/** @typedef {import('./lib/session.js').VideoDetail} VideoDetail */
/**
 * The elements of moderate.html this script uses whose type matters, by id; any other id is a plain element.
 * @typedef {{ queue: HTMLUListElement, notes: HTMLTextAreaElement, approve: HTMLButtonElement,
 *   reject: HTMLButtonElement }} PageElements
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
const player = createPlayer($('preview'), { refresh: () => detail(/** @type {string} */ (previewing), true).then((d) => d.playback) });

const setStatus = (/** @type {string} */ t) => {
  $('status').textContent = t;
};
const showError = (/** @type {string | null} */ code) => {
  $('error').textContent = code ? messageFor(code) : '';
};

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

/**
 * The item's second line: length, uploader, age and, while it transcodes, how far it is.
 * @param {VideoSummary} item
 */
function metaText(item) {
  const base = `${formatTime(item.durationSec ?? 0)} · by ${item.uploaderId ?? 'unknown'} · ${formatAge(item.createdAt)}`;
  return item.status === 'processing' ? `${base} · processing ${Math.round(item.progress)}%` : base;
}

/** @param {VideoSummary} item */
function renderItem(item) {
  const li = document.createElement('li');
  li.id = `item-${item.id}`;
  li.dataset.id = item.id;
  li.tabIndex = -1;
  li.className = 'queue-item';
  const img = document.createElement('img');
  img.alt = '';
  img.className = 'poster';
  const text = document.createElement('div');
  const title = document.createElement('strong');
  title.textContent = item.title;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = metaText(item);
  text.append(title, meta);
  li.append(img, text);
  li.addEventListener('click', () => select(item.id));
  detail(item.id).then(
    (d) => {
      if (d.playback?.posterUrl) img.src = d.playback.posterUrl;
    },
    () => undefined,
  );
  return li;
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
    const li = known ?? renderItem(item);
    if (li.previousElementSibling !== prev || !li.isConnected) {
      if (prev) prev.after(li);
      else list.prepend(li);
    }
    prev = li;
  }
  $('count').textContent = `(${items.size})`;
  $('empty').hidden = items.size > 0;
  document.body.dataset.queueSize = String(items.size);
}

async function poll() {
  try {
    /** @type {{ items: VideoSummary[] }} */
    const { items: page } = await api('/api/moderation/queue?limit=50', { token });
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
    setStatus(`${items.size} video${items.size === 1 ? '' : 's'} waiting.`);
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
  try {
    await api(`/api/moderation/videos/${encodeURIComponent(id)}/${decision}`, { token, method: 'POST', body: notes ? { notes } : {} });
  } catch (err) {
    showError(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
    return;
  }
  const keys = [...items.keys()];
  const next = keys[keys.indexOf(id) + 1] ?? keys[keys.indexOf(id) - 1];
  items.delete(id);
  details.delete(id);
  render();
  previewing = null;
  player.destroy();
  setStatus(`${decision === 'approve' ? 'Approved' : 'Rejected'} “${title}”.`);
  if (next) select(next);
  else {
    selected = null;
    $('review').hidden = true;
  }
}

/** @param {number} delta */
function move(delta) {
  const keys = [...items.keys()];
  if (!keys.length) return;
  const i = Math.max(0, keys.indexOf(/** @type {string} */ (selected))); // none selected: -1, so the first
  select(/** @type {string} */ (keys[Math.min(keys.length - 1, Math.max(0, i + delta))]));
}

document.addEventListener('keydown', (e) => {
  const { tagName } = /** @type {Element} */ (e.target);
  if (tagName === 'TEXTAREA') {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      decide('reject');
    }
    if (e.key === 'Escape') document.getElementById(`item-${selected}`)?.focus();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey || ['INPUT', 'SELECT'].includes(tagName)) return;
  /** @type {Record<string, () => unknown>} */
  const actions = {
    j: () => move(1),
    k: () => move(-1),
    a: () => decide('approve'),
    r: () => $('notes').focus(),
    p: () => (player.video.paused ? player.play() : player.video.pause()),
  };
  const act = actions[e.key];
  if (e.key === 'a' && $('approve').disabled) {
    setStatus(approveBlocked(selected ? items.get(selected) : undefined));
    return;
  }
  if (act) {
    e.preventDefault();
    act();
  }
});
wirePresets($('presets'), $('notes'));
$('approve').addEventListener('click', () => decide('approve'));
$('reject').addEventListener('click', () => decide('reject'));

if (!token) showError('AUTH_MISSING_TOKEN');
else {
  poll();
  setInterval(poll, POLL_MS);
  showTotals($('totals'), token);
}
