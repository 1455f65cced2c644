// @ts-check
// One row of the moderation queue: selection box, poster, title and a line of facts.
import { pickBox } from './bulk-select.js';
import { formatAge, formatTime } from './format.js';

/** @typedef {import('./session.js').VideoSummary} VideoSummary */

/**
 * The item's second line: length, uploader, age and, while it transcodes, how far it is.
 * @param {VideoSummary} item
 */
export function metaText(item) {
  const base = `${formatTime(item.durationSec ?? 0)} · by ${item.uploaderId ?? 'unknown'} · ${formatAge(item.createdAt)}`;
  return item.status === 'processing' ? `${base} · processing ${Math.round(item.progress)}%` : base;
}

/**
 * @param {VideoSummary} item
 * @param {{ onSelect: (id: string) => unknown, onToggle: (id: string, range: boolean) => void,
 *   poster: Promise<string | null> }} o
 */
export function queueItem(item, o) {
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
  li.append(pickBox(item.id, item.title, o.onToggle), img, text);
  li.addEventListener('click', () => o.onSelect(item.id));
  o.poster.then(
    (url) => {
      if (url) img.src = url;
    },
    () => undefined,
  );
  return li;
}
