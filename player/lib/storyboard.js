// @ts-check
// Storyboard thumbnails: a WebVTT file whose cue payloads are `sprite.jpg?sig=…#xywh=x,y,w,h` (W3C Media Fragments
// spatial dimension), relative to the VTT's own URL.

/**
 * One storyboard thumbnail: shown from `start` to `end` (seconds), the `w`×`h` tile at `x`,`y` of the sprite `url`.
 * @typedef {{ start: number, end: number, url: string, x: number, y: number, w: number, h: number }} Cue
 */

/** @param {string} s */
function parseTimestamp(s) {
  const parts = s.trim().split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/**
 * Parses the cues of a storyboard VTT; image URLs are resolved against `baseUrl`.
 * @param {string} text
 * @param {string} baseUrl
 * @returns {Cue[]}
 */
export function parseStoryboard(text, baseUrl) {
  const cues = [];
  for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
    const lines = block.split('\n').filter(Boolean);
    const timing = lines.findIndex((l) => l.includes('-->'));
    const timingLine = lines[timing];
    const payload = lines[timing + 1];
    if (timing < 0 || !timingLine || !payload) continue;
    const times = timingLine.split('-->').map((t) => parseTimestamp(t.split(/\s+/).filter(Boolean)[0] ?? t));
    const [start, end] = /** @type {[number, number]} */ (times); // the line contains -->: two parts at least
    const ref = new URL(payload.trim(), baseUrl);
    const m = /^xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(ref.hash.slice(1));
    ref.hash = '';
    const [x, y, w, h] = /** @type {[number, number, number, number]} */ (m ? m.slice(1).map(Number) : [0, 0, 0, 0]);
    cues.push({ start, end, url: ref.toString(), x, y, w, h });
  }
  return cues;
}

/** @param {string} url */
export async function loadStoryboard(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`storyboard ${res.status}`);
  return parseStoryboard(await res.text(), new URL(url, location.href).toString());
}

/**
 * @param {Cue[]} cues
 * @param {number} time
 */
export function cueAt(cues, time) {
  return cues.find((c) => time >= c.start && time < c.end) ?? cues[cues.length - 1];
}
