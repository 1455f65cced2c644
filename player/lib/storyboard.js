// Storyboard thumbnails: a WebVTT file whose cue payloads are `sprite.jpg?sig=…#xywh=x,y,w,h` (W3C Media Fragments
// spatial dimension), relative to the VTT's own URL.

function parseTimestamp(s) {
  const parts = s.trim().split(':').map(Number);
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** Parses the cues of a storyboard VTT; image URLs are resolved against `baseUrl`. */
export function parseStoryboard(text, baseUrl) {
  const cues = [];
  for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
    const lines = block.split('\n').filter(Boolean);
    const timing = lines.findIndex((l) => l.includes('-->'));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [start, end] = lines[timing].split('-->').map((t) => parseTimestamp(t.split(/\s+/).filter(Boolean)[0] ?? t));
    const ref = new URL(lines[timing + 1].trim(), baseUrl);
    const m = /^xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(ref.hash.slice(1));
    ref.hash = '';
    const [x, y, w, h] = m ? m.slice(1).map(Number) : [0, 0, 0, 0];
    cues.push({ start, end, url: ref.toString(), x, y, w, h });
  }
  return cues;
}

export async function loadStoryboard(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`storyboard ${res.status}`);
  return parseStoryboard(await res.text(), new URL(url, location.href).toString());
}

export function cueAt(cues, time) {
  return cues.find((c) => time >= c.start && time < c.end) ?? cues[cues.length - 1];
}
