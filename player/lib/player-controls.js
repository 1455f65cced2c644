// @ts-check
// The player's controls and keyboard shortcuts, wired to a <video> and the player's template elements.
import { formatTime } from './format.js';
import { cueAt } from './storyboard.js';

/** @typedef {import('./storyboard.js').Cue} Cue */
/**
 * The element of the player's template with this data-role (the template defines each one).
 * @typedef {(role: string) => HTMLElement} RoleLookup
 */

/** Seconds the arrow keys skip. */
const SEEK_STEP_SEC = 5;

/**
 * @param {HTMLSelectElement} select
 * @param {{ height: number, bitrate: number }[]} levels
 */
export function fillQualityMenu(select, levels) {
  select.replaceChildren(new Option('Auto', '-1'));
  levels.forEach((l, i) => select.append(new Option(`${l.height}p (${Math.round(l.bitrate / 1000)} kbps)`, String(i))));
  select.disabled = levels.length < 2;
}

/**
 * 403s from /hls carry a code; hls.js only sees the status, so ask the server once more for the body.
 * @param {string} url
 * @returns {Promise<string | null>}
 */
export async function codeOf(url) {
  try {
    const res = await fetch(url);
    if (res.ok) return null;
    const body = await res.json().catch(() => ({}));
    return body?.error?.code ?? `HTTP_${res.status}`;
  } catch {
    return 'NETWORK';
  }
}

/**
 * @param {HTMLElement} root
 * @param {RoleLookup} el
 * @param {HTMLVideoElement} video
 * @param {{ setQuality: (level: number) => void, cues: () => Cue[] }} callbacks
 */
export function wireControls(root, el, video, { setQuality, cues }) {
  const play = el('play');
  const seek = /** @type {HTMLInputElement} */ (el('seek'));
  const time = el('time');
  const mute = el('mute');
  const thumb = el('thumb');
  const thumbImg = el('thumb-img');
  const thumbTime = el('thumb-time');
  const sync = () => {
    const playing = !video.paused;
    play.textContent = playing ? 'Pause' : 'Play';
    play.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    mute.textContent = video.muted ? 'Unmute' : 'Mute';
    mute.setAttribute('aria-label', video.muted ? 'Unmute' : 'Mute');
    if (Number.isFinite(video.duration)) seek.max = String(video.duration);
    if (document.activeElement !== seek) seek.value = String(video.currentTime);
    time.textContent = `${formatTime(video.currentTime)} / ${formatTime(video.duration)}`;
    seek.setAttribute('aria-valuetext', time.textContent);
  };
  for (const ev of ['play', 'pause', 'timeupdate', 'durationchange', 'volumechange', 'loadedmetadata']) video.addEventListener(ev, sync);
  play.addEventListener('click', () => (video.paused ? video.play().catch(() => undefined) : video.pause()));
  mute.addEventListener('click', () => {
    video.muted = !video.muted;
  });
  seek.addEventListener('input', () => {
    video.currentTime = Number(seek.value);
    showThumb(Number(seek.value));
  });
  seek.addEventListener('change', () => {
    thumb.hidden = true;
  });
  seek.addEventListener('pointermove', (e) => {
    const rect = seek.getBoundingClientRect();
    const frac = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
    showThumb(frac * Number(seek.max || 0), e.clientX);
  });
  seek.addEventListener('pointerleave', () => {
    thumb.hidden = true;
  });
  el('quality').addEventListener('change', (e) => setQuality(Number(/** @type {HTMLSelectElement} */ (e.target).value)));
  el('fullscreen').addEventListener('click', () => toggleFullscreen(root));

  /**
   * @param {number} at
   * @param {number} [x]
   */
  function showThumb(at, x) {
    const list = cues();
    if (!list.length) return;
    const c = /** @type {Cue} */ (cueAt(list, at)); // the list is not empty
    // CSSOM property writes are allowed by the CSP (style-src 'self' only forbids inline style attributes/elements).
    thumbImg.style.width = `${c.w}px`;
    thumbImg.style.height = `${c.h}px`;
    thumbImg.style.backgroundImage = `url("${c.url}")`;
    thumbImg.style.backgroundPosition = `-${c.x}px -${c.y}px`;
    thumbTime.textContent = formatTime(at);
    if (x !== undefined) {
      // Centred over the pointer, kept inside the frame the thumbnail is positioned in.
      const frame = thumb.offsetParent?.getBoundingClientRect() ?? { left: 0, width: Infinity };
      const width = thumb.offsetWidth || c.w;
      thumb.style.left = `${Math.min(Math.max(0, x - frame.left - width / 2), Math.max(0, frame.width - width))}px`;
    }
    thumb.hidden = false;
    root.dataset.thumb = c.url;
  }
}

/** @param {HTMLElement} root */
export function toggleFullscreen(root) {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => undefined);
  else root.requestFullscreen?.().catch(() => undefined);
}

/**
 * space/k play-pause, ←/→ seek 5 s, f full screen, m mute (YouTube's keys, which viewers already know).
 * @param {GlobalEventHandlers} target an element or the document
 * @param {HTMLVideoElement} video
 * @param {HTMLElement} root
 */
export function wireKeyboard(target, video, root) {
  target.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = /** @type {Element | null} */ (e.target)?.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
    if (tag === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return;
    const key = e.key.toLowerCase();
    if (key === ' ' || key === 'k') {
      if (video.paused) video.play().catch(() => undefined);
      else video.pause();
    } else if (key === 'arrowleft') video.currentTime = Math.max(0, video.currentTime - SEEK_STEP_SEC);
    else if (key === 'arrowright') video.currentTime = Math.min(video.duration || 0, video.currentTime + SEEK_STEP_SEC);
    else if (key === 'f') toggleFullscreen(root);
    else if (key === 'm') video.muted = !video.muted;
    else return;
    e.preventDefault();
    e.stopPropagation();
  });
}
