// @ts-check
// The moderator page's platform totals (GET /api/analytics/totals, staff only): how much is watched and how well it
// plays, so moderators notice when playback quality drops.
import { formatTime } from './format.js';
import { api } from './session.js';

/**
 * @typedef {object} Totals
 * @property {number} videos
 * @property {{ views: number, sessions: number, watchTimeSec: number, startup: { p50Ms: number | null },
 *   rebufferRatio: number | null, errorRate: number | null }} total
 */

/** @param {number | null} x */
const percent = (x) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

/** One line of totals. @param {Totals} t @param {number} days */
export function totalsText(t, days) {
  const s = t.total;
  const startup = s.startup.p50Ms === null ? '–' : `${(s.startup.p50Ms / 1000).toFixed(1)} s`;
  return (
    `Last ${days} days: ${s.views} view${s.views === 1 ? '' : 's'} of ${t.videos} video${t.videos === 1 ? '' : 's'}, ` +
    `${formatTime(s.watchTimeSec)} watched · startup ${startup} (median) · rebuffering ${percent(s.rebufferRatio)} · ` +
    `errors ${percent(s.errorRate)} of sessions`
  );
}

/**
 * Fills `el` with the totals; leaves it hidden when they cannot be had (analytics off).
 * @param {HTMLElement} el
 * @param {string} token
 */
export async function showTotals(el, token, days = 7) {
  try {
    /** @type {Totals} */
    const t = await api(`/api/analytics/totals?days=${days}`, { token });
    el.textContent = totalsText(t, days);
    el.hidden = false;
    document.body.dataset.totalsViews = String(t.total.views);
  } catch {
    el.hidden = true; // the queue matters more than the numbers: no error banner for them
  }
}
