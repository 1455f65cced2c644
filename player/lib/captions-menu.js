// @ts-check
// The captions menu: "Off" plus one entry per caption track the signed master lists (only approved captions reach
// viewers; previews also list pending ones). Labels come from uploaders, so they are set as option text, never as HTML.

/**
 * @typedef {object} CaptionTrack
 * @property {string} label
 * @property {string} lang
 */
/**
 * Where the tracks live: hls.js's subtitle tracks, or the browser's own text tracks (Safari's native HLS).
 * @typedef {object} CaptionsBackend
 * @property {() => CaptionTrack[]} tracks
 * @property {(index: number) => void} select -1 turns captions off
 */

export class CaptionsMenu {
  /** @type {HTMLElement} */
  #root;
  /** @type {HTMLSelectElement} */
  #select;
  /** @type {CaptionsBackend | null} */
  #backend = null;
  /** The track `c` turns back on: the last one chosen, else the first. */
  #last = 0;

  /**
   * @param {HTMLElement} root the player root (gets data-captions = "off" or the shown language, for tests and styling)
   * @param {HTMLSelectElement} select
   */
  constructor(root, select) {
    this.#root = root;
    this.#select = select;
    select.addEventListener('change', () => this.choose(Number(select.value)));
    this.refresh();
  }

  /** @param {CaptionsBackend | null} backend */
  attach(backend) {
    this.#backend = backend;
    this.#last = 0;
    this.refresh();
  }

  /** Rebuilds the options from the backend's tracks; the menu hides while there are none. */
  refresh() {
    const tracks = this.#backend?.tracks() ?? [];
    const current = this.#select.value;
    this.#select.replaceChildren(new Option('CC off', '-1'), ...tracks.map((t, i) => new Option(t.label || t.lang, String(i))));
    this.#select.value = Number(current) < tracks.length ? current : '-1';
    const label = /** @type {HTMLElement} */ (this.#select.closest('label'));
    label.hidden = tracks.length === 0;
    this.#root.dataset.captionTracks = String(tracks.length);
    if (!this.#root.dataset.captions || !tracks.length) this.#root.dataset.captions = 'off';
  }

  /** @param {number} index -1 = off */
  choose(index) {
    const tracks = this.#backend?.tracks() ?? [];
    if (!this.#backend || index >= tracks.length) return;
    this.#backend.select(index);
    this.#select.value = String(index);
    if (index >= 0) this.#last = index;
    this.#root.dataset.captions = index >= 0 ? (tracks[index]?.lang ?? 'on') : 'off';
  }

  /** The `c` key: captions off when on, else back to the last track. */
  toggle() {
    const n = this.#backend?.tracks().length ?? 0;
    if (!n) return;
    this.choose(this.#select.value === '-1' ? Math.min(this.#last, n - 1) : -1);
  }
}

/**
 * @param {Hls} hls
 * @returns {CaptionsBackend}
 */
export function hlsCaptions(hls) {
  return {
    tracks: () => hls.subtitleTracks.map((t) => ({ label: t.name, lang: t.lang ?? '' })),
    select: (i) => {
      hls.subtitleDisplay = i >= 0;
      hls.subtitleTrack = i;
    },
  };
}

/**
 * @param {HTMLVideoElement} video
 * @returns {CaptionsBackend}
 */
export function nativeCaptions(video) {
  const list = () => [...video.textTracks].filter((t) => t.kind === 'subtitles' || t.kind === 'captions');
  return {
    tracks: () => list().map((t) => ({ label: t.label, lang: t.language })),
    select: (i) =>
      list().forEach((t, j) => {
        t.mode = j === i ? 'showing' : 'disabled';
      }),
  };
}

/**
 * Cues without a line setting sit on the picture's bottom line, which the controls (laid over the picture) cover.
 * Those are moved up to end just above the controls, whatever the player's size; a cue whose author placed it keeps
 * its place.
 * @param {HTMLVideoElement} video
 * @param {HTMLElement} controls
 */
export function liftCuesAboveControls(video, controls) {
  /** Cues this function placed (and places again when the player changes size). @type {WeakSet<TextTrackCue>} */
  const lifted = new WeakSet();
  const place = () => {
    const height = video.clientHeight;
    if (!height) return;
    const bottom = Math.max(50, Math.floor(100 - (controls.offsetHeight / height) * 100));
    for (const track of Array.from(video.textTracks)) {
      for (const c of Array.from(track.activeCues ?? [])) {
        const cue = /** @type {VTTCue} */ (c);
        if (cue.line !== 'auto' && !lifted.has(cue)) continue; // placed by its author
        lifted.add(cue);
        cue.snapToLines = false;
        cue.lineAlign = 'end';
        if (cue.line !== bottom) cue.line = bottom;
      }
    }
  };
  video.textTracks.addEventListener('addtrack', (e) => e.track?.addEventListener('cuechange', place));
  new ResizeObserver(place).observe(video);
}
