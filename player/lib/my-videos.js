// @ts-check
// The uploader's own videos (GET /api/videos lists only the caller's for uploaders): status in words, a link to
// watch, and for published videos the embed code to put on another page.
import { formatAge, formatTime } from './format.js';
import { messageFor } from './messages.js';
import { api } from './session.js';

/** @typedef {import('./session.js').VideoSummary} VideoSummary */

/**
 * Short status of a video in the list.
 * @param {VideoSummary} v
 */
export function statusWord(v) {
  if (v.status === 'uploaded') return 'Waiting to be processed';
  if (v.status === 'processing')
    return v.overallProgress === null ? 'Processing (waiting)' : `Processing ${Math.round(v.overallProgress)}%`;
  if (v.status !== 'ready') return `Not published: ${messageFor(v.error?.code ?? v.status)}`;
  if (v.moderation.status === 'approved') return 'Published';
  if (v.moderation.status === 'rejected') return `Not accepted${v.moderation.notes ? `: ${v.moderation.notes}` : ''}`;
  return 'Waiting for review';
}

/** What a partner site pastes to show the video (player/embed.js turns the div into the player). @param {string} id */
export const embedCode = (id) =>
  `<div data-kidstream-video="${id}"></div>\n<script src="${location.origin}/player/embed.js" async></script>`;

/** @typedef {{ videoId: string, views: number, watchTimeSec: number }} VideoStats */

/** "3 views · 1:05 watched" (last 30 days). @param {VideoStats | undefined} s */
export const statsText = (s) => `${s?.views ?? 0} view${s?.views === 1 ? '' : 's'} · ${formatTime(s?.watchTimeSec ?? 0)} watched`;

/**
 * @param {VideoSummary} v
 * @param {((v: VideoSummary) => void) | undefined} onEdit
 * @param {VideoStats | undefined} stats
 * @returns {HTMLLIElement}
 */
function row(v, onEdit, stats) {
  const li = document.createElement('li');
  li.className = 'my-video';
  li.dataset.id = v.id;
  const title = document.createElement('strong');
  title.textContent = v.title;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${statusWord(v)} · ${formatAge(v.createdAt)}`;
  li.append(title, meta);
  if (onEdit) {
    const edit = document.createElement('button');
    edit.type = 'button';
    edit.className = 'secondary edit';
    edit.textContent = 'Edit';
    edit.setAttribute('aria-label', `Edit “${v.title}”`);
    edit.addEventListener('click', () => onEdit(v));
    li.append(edit);
  }
  if (v.moderation.status === 'approved') {
    const numbers = document.createElement('span');
    numbers.className = 'meta stats';
    numbers.title = 'Last 30 days';
    numbers.textContent = statsText(stats);
    li.append(numbers);
  }
  if (v.status === 'ready') {
    const watch = document.createElement('a');
    watch.href = `/embed/${v.id}`;
    watch.textContent = v.moderation.status === 'approved' ? 'Watch' : 'Watch the preview';
    li.append(watch);
  }
  if (v.status === 'ready' && v.moderation.status === 'approved') {
    const code = document.createElement('textarea');
    code.readOnly = true;
    code.rows = 2;
    code.className = 'embed-code';
    code.setAttribute('aria-label', `Embed code for “${v.title}”`);
    code.value = embedCode(v.id);
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'secondary';
    copy.textContent = 'Copy embed code';
    copy.addEventListener('click', () => {
      code.select();
      navigator.clipboard?.writeText(code.value).then(
        () => (copy.textContent = 'Copied'),
        () => undefined,
      );
    });
    li.append(code, copy);
  }
  return li;
}

/**
 * Fills `list` with the caller's newest videos; `empty` shows when there are none. With `onEdit`, each has an Edit
 * button that calls it.
 * @param {HTMLElement} list
 * @param {HTMLElement} empty
 * @param {string} token
 * @param {(v: VideoSummary) => void} [onEdit]
 */
export async function showMyVideos(list, empty, token, onEdit) {
  /** @type {{ items: VideoSummary[] }} */
  const { items } = await api('/api/videos?limit=20', { token });
  // Numbers are a nicety: the list shows without them when analytics are off or the call fails.
  const stats = /** @type {{ items: VideoStats[] }} */ (await api('/api/analytics/my-videos', { token }).catch(() => ({ items: [] })));
  const byId = new Map(stats.items.map((x) => [x.videoId, x]));
  list.replaceChildren(...items.map((v) => row(v, onEdit, byId.get(v.id))));
  empty.hidden = items.length > 0;
  document.body.dataset.myVideos = String(items.length);
}
