// @ts-check
// The player's controls and keyboard shortcuts, wired to a <video> and the player's template elements.
import { formatTime } from './format.js';
import { ICONS } from './player-template.js';
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
 * The end of the buffered range that holds `t` (what is loaded ahead of the playhead), 0 when none does.
 * @param {TimeRanges} ranges
 * @param {number} t
 */
export function bufferedEnd(ranges, t) {
  for (let i = 0; i < ranges.length; i++) if (ranges.start(i) <= t + 0.1 && t <= ranges.end(i)) return ranges.end(i);
  return 0;
}

/**
 * @param {HTMLElement} root
 * @param {RoleLookup} el
 * @param {HTMLVideoElement} video
 * @param {{ setQuality: (level: number) => void, cues: () => Cue[] }} callbacks
 */
export function wireControls(root, el, video, { setQuality, cues }) {
  const play = el('play');
  const bigPlay = el('big-play');
  const seek = /** @type {HTMLInputElement} */ (el('seek'));
  const volume = /** @type {HTMLInputElement} */ (el('volume'));
  const speed = /** @type {HTMLSelectElement} */ (el('speed'));
  const buffered = el('buffered');
  const time = el('time');
  const mute = el('mute');
  const pip = el('pip');
  const spinner = el('spinner');
  const thumb = el('thumb');
  const thumbImg = el('thumb-img');
  const thumbTime = el('thumb-time');
  const togglePlay = () => (video.paused ? video.play().catch(() => undefined) : video.pause());
  const sync = () => {
    const playing = !video.paused;
    play.innerHTML = playing ? ICONS.pause : ICONS.play;
    play.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    bigPlay.hidden = playing;
    root.dataset.paused = String(!playing);
    const silent = video.muted || video.volume === 0;
    mute.innerHTML = silent ? ICONS.muted : ICONS.volume;
    mute.setAttribute('aria-label', video.muted ? 'Unmute' : 'Mute');
    volume.value = String(video.muted ? 0 : video.volume);
    speed.value = String(video.playbackRate);
    if (Number.isFinite(video.duration)) seek.max = String(video.duration);
    if (document.activeElement !== seek) seek.value = String(video.currentTime);
    time.textContent = `${formatTime(video.currentTime)} / ${formatTime(video.duration)}`;
    seek.setAttribute('aria-valuetext', time.textContent);
    const end = bufferedEnd(video.buffered, video.currentTime);
    buffered.style.width = video.duration > 0 ? `${Math.min(100, (end / video.duration) * 100)}%` : '0';
  };
  const events = ['play', 'pause', 'timeupdate', 'durationchange', 'volumechange', 'ratechange', 'loadedmetadata', 'progress'];
  for (const ev of events) video.addEventListener(ev, sync);
  // The spinner shows while the player waits for data it needs now, never merely because the video is paused.
  const loading =
    (on = true) =>
    () => {
      spinner.hidden = !on;
    };
  for (const ev of ['waiting', 'seeking', 'loadstart']) video.addEventListener(ev, () => !video.paused && loading()());
  for (const ev of ['playing', 'seeked', 'canplay', 'pause', 'error']) video.addEventListener(ev, loading(false));
  play.addEventListener('click', togglePlay);
  bigPlay.addEventListener('click', togglePlay);
  // A click on the picture plays or pauses, a double click toggles full screen: what every video player does.
  video.addEventListener('click', togglePlay);
  video.addEventListener('dblclick', () => toggleFullscreen(root));
  mute.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 0.5;
  });
  volume.addEventListener('input', () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });
  speed.addEventListener('change', () => {
    video.playbackRate = Number(speed.value);
  });
  if (document.pictureInPictureEnabled) {
    pip.hidden = false;
    pip.addEventListener('click', () =>
      (document.pictureInPictureElement ? document.exitPictureInPicture() : video.requestPictureInPicture()).catch(() => undefined),
    );
  }
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
  sync();

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
 * space/k play-pause, ←/→ seek 5 s, f full screen, m mute, c captions (YouTube's keys, which viewers already know). They work
 * wherever focus is in the player, the seek bar included (there ←/→ seek the same 5 s); only text fields, menus and
 * the volume slider keep their own keys.
 * @param {GlobalEventHandlers} target an element or the document
 * @param {HTMLVideoElement} video
 * @param {HTMLElement} root
 * @param {{ toggleCaptions?: () => void }} [actions]
 */
export function wireKeyboard(target, video, root, actions = {}) {
  target.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const el = /** @type {HTMLElement | null} */ (e.target);
    const tag = el?.tagName;
    const key = e.key.toLowerCase();
    const range = tag === 'INPUT' && /** @type {HTMLInputElement} */ (el).type === 'range';
    if (tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'INPUT' && !range)) return;
    if (range && el?.dataset['role'] === 'volume' && key.startsWith('arrow')) return;
    if (tag === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return;
    if (key === ' ' || key === 'k') {
      if (video.paused) video.play().catch(() => undefined);
      else video.pause();
    } else if (key === 'arrowleft') video.currentTime = Math.max(0, video.currentTime - SEEK_STEP_SEC);
    else if (key === 'arrowright') video.currentTime = Math.min(video.duration || 0, video.currentTime + SEEK_STEP_SEC);
    else if (key === 'f') toggleFullscreen(root);
    else if (key === 'm') video.muted = !video.muted;
    else if (key === 'c' && actions.toggleCaptions) actions.toggleCaptions();
    else return;
    e.preventDefault();
    e.stopPropagation();
  });
}
