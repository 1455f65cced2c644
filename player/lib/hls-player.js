// @ts-check
// The player used by the embed page and the moderator preview: hls.js where MSE exists, the browser's own HLS
// (Safari, iOS) otherwise; custom controls so the seek bar can show storyboard thumbnails and a quality menu.
/* global Hls */
import { CaptionsMenu, hlsCaptions, liftCuesAboveControls, nativeCaptions } from './captions-menu.js';
import { PlaybackAnalytics } from './analytics.js';
import { messageFor } from './messages.js';
import { codeOf, fillQualityMenu, wireControls, wireKeyboard } from './player-controls.js';
import { TEMPLATE } from './player-template.js';
import { loadStoryboard } from './storyboard.js';

/** Fresh URLs fetched for one source before giving up (an expiry loop means the clock or the key is wrong). */
const MAX_REFRESHES = 3;
/** Codes after which asking the API again may help: an expired link, or one revoked by a change (re-process). */
const RENEWABLE = new Set(['PLAYBACK_SIGNATURE_EXPIRED', 'PLAYBACK_REVOKED']);

/** @typedef {import('./session.js').Playback} Playback */
/** @typedef {import('./storyboard.js').Cue} Cue */
/**
 * @typedef {object} PlayerOptions
 * @property {() => Promise<Playback | null | undefined>} [refresh] a fresh playback object after an expiry or revocation
 * @property {HTMLElement | Document} [keyboardTarget] receives the shortcut listener (default: the player's root)
 */
/**
 * The element of the player's TEMPLATE with this data-role (the template defines each one).
 * @typedef {(role: string) => HTMLElement} RoleLookup
 */

/**
 * A player mounted into `root`. `refresh` (optional) returns a fresh playback object `{url, posterUrl, storyboardUrl}`
 * when the signature expired or was revoked. `keyboardTarget` receives the shortcut listener (default: root).
 */
class Player {
  /** @type {HTMLElement} */
  #root;
  /** @type {PlayerOptions['refresh']} */
  #refresh;
  /** @type {HTMLVideoElement} */
  #video;
  /** @type {HTMLElement} */
  #status;
  /** @type {HTMLSelectElement} */
  #quality;
  /** @type {Hls | null} */
  #hls = null;
  /** @type {CaptionsMenu} */
  #captions;
  /** @type {Playback | null} */
  #source = null;
  /** @type {Cue[]} */
  #cues = [];
  #refreshes = 0;
  /** @type {PlaybackAnalytics | null} */
  #analytics = null;

  /**
   * @param {HTMLElement} root
   * @param {PlayerOptions} [options]
   */
  constructor(root, { refresh, keyboardTarget } = {}) {
    root.classList.add('player');
    root.innerHTML = TEMPLATE;
    /** @type {RoleLookup} */
    const el = (role) => /** @type {HTMLElement} */ (root.querySelector(`[data-role="${role}"]`));
    this.#root = root;
    this.#refresh = refresh;
    this.#video = /** @type {HTMLVideoElement} */ (el('video'));
    this.#status = el('status');
    this.#quality = /** @type {HTMLSelectElement} */ (el('quality'));
    wireControls(root, el, this.#video, {
      setQuality: (i) => {
        if (this.#hls) this.#hls.currentLevel = i;
      },
      cues: () => this.#cues,
    });
    this.#captions = new CaptionsMenu(root, /** @type {HTMLSelectElement} */ (el('captions')));
    liftCuesAboveControls(this.#video, el('controls'));
    wireKeyboard(keyboardTarget ?? root, this.#video, root, { toggleCaptions: () => this.#captions.toggle() });
  }

  get video() {
    return this.#video;
  }
  get source() {
    return this.#source;
  }

  /**
   * Plays `playback` ({url, posterUrl?, storyboardUrl?}); replaces whatever was playing.
   * @param {Playback} playback
   * @param {{ startAt?: number, keepRefreshes?: boolean }} [options]
   */
  load(playback, { startAt, keepRefreshes } = {}) {
    const video = this.#video;
    this.#destroyHls();
    video.removeAttribute('src');
    this.#source = playback;
    if (!keepRefreshes) this.#refreshes = 0;
    delete this.#root.dataset.error;
    const title = this.#root.querySelector('[data-role="title"]');
    if (title) {
      title.textContent = playback.title ?? '';
      title.toggleAttribute('hidden', !playback.title);
    }
    this.#trackSession(playback);
    if (playback.posterUrl) video.poster = playback.posterUrl;
    else video.removeAttribute('poster');
    this.#showStoryboard(playback.storyboardUrl);
    if (window.Hls && Hls.isSupported()) this.#attachHlsJs(playback.url, startAt);
    else if (video.canPlayType('application/vnd.apple.mpegurl')) this.#attachNative(playback.url, startAt);
    else {
      this.#setStatus('This browser cannot play this video.');
      return;
    }
    this.#setStatus(startAt ? 'Resuming…' : '');
  }

  play() {
    return this.#video.play().catch(() => this.#setStatus('Press Play to start.'));
  }

  destroy() {
    this.#analytics?.close();
    this.#analytics = null;
    this.#destroyHls();
    this.#video.removeAttribute('src');
    this.#video.load();
  }

  /**
   * Beacons for public playback (the answer carries a session). A renewed link of the same video keeps the session it
   * started with, so a refresh mid-video does not count as a second viewing.
   * @param {Playback} playback
   */
  #trackSession(playback) {
    const videoId = /\/hls\/([0-9a-f-]{36})\//i.exec(playback.url)?.[1];
    if (this.#analytics && this.#analytics.o.videoId === videoId) return;
    this.#analytics?.close();
    this.#analytics = null;
    if (videoId && playback.analyticsSession)
      this.#analytics = new PlaybackAnalytics({ videoId, session: playback.analyticsSession, video: this.#video, root: this.#root });
  }

  /** @param {string} text */
  #setStatus(text) {
    this.#status.textContent = text;
  }

  #destroyHls() {
    this.#captions.attach(null);
    if (this.#hls) {
      this.#hls.destroy();
      this.#hls = null;
    }
    window.__hls = undefined;
  }

  /**
   * @param {string} url
   * @param {number | undefined} startAt
   */
  #attachHlsJs(url, startAt) {
    const hls = new Hls({ startPosition: startAt ?? -1 });
    this.#hls = hls;
    window.__hls = hls; // tests and devtools inspect levels / currentLevel
    this.#analytics?.attachHls(hls);
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
      fillQualityMenu(this.#quality, data.levels);
      this.#captions.refresh();
      this.#root.dataset.levels = String(data.levels.length);
    });
    // Subtitle tracks come with the master; hls.js renders the chosen one into a TextTrack of the video element.
    this.#captions.attach(hlsCaptions(hls));
    hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => this.#captions.refresh());
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
      this.#root.dataset.level = String(data.level);
      const l = hls.levels[data.level];
      if (l) this.#quality.title = `Now playing ${l.height}p`;
    });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      const xhr = /** @type {Partial<XMLHttpRequest> | null | undefined} */ (data.networkDetails); // hls.js loads with XHR
      const failed = xhr?.responseURL || data.url || data.frag?.url || data.context?.url || url;
      const wasPlaying = !this.#video.paused; // also true while a play() waits for the first frames
      this.#destroyHls();
      this.#onFatal(failed, wasPlaying);
    });
    hls.loadSource(url);
    hls.attachMedia(this.#video);
  }

  /**
   * @param {string} url
   * @param {number | undefined} startAt
   */
  #attachNative(url, startAt) {
    const video = this.#video;
    const label = /** @type {HTMLLabelElement} */ (this.#quality.closest('label')); // the template wraps the menu in one
    label.hidden = true; // Safari picks renditions itself and exposes no level API
    const captions = nativeCaptions(video);
    this.#captions.attach(captions);
    video.textTracks.addEventListener('addtrack', () => this.#captions.refresh());
    video.src = url;
    if (startAt)
      video.addEventListener(
        'loadedmetadata',
        () => {
          video.currentTime = startAt;
        },
        { once: true },
      );
    video.addEventListener('error', () => this.#onFatal(video.currentSrc || url, !video.paused), { once: true });
  }

  /**
   * @param {string} url
   * @param {boolean} wasPlaying
   */
  async #onFatal(url, wasPlaying) {
    const code = url ? await codeOf(url) : null;
    this.#root.dataset.error = code ?? 'PLAYBACK_FAILED';
    // Both mean "this link is done, not necessarily the video": the API decides whether a fresh one may be had.
    if (code && RENEWABLE.has(code) && this.#refresh && this.#refreshes < MAX_REFRESHES) {
      this.#refreshes++;
      this.#setStatus(`${messageFor(code)} Loading a fresh link…`);
      const at = this.#video.currentTime;
      try {
        const next = await this.#refresh();
        if (next) {
          this.#root.dataset.renewed = String(this.#refreshes);
          this.load(next, { startAt: at, keepRefreshes: true });
          if (wasPlaying) this.#video.play().catch(() => undefined);
          return;
        }
      } catch (err) {
        this.#setStatus(messageFor(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK'));
        return;
      }
    }
    this.#setStatus(code ? messageFor(code) : 'The video could not be played.');
  }

  /** @param {string | null | undefined} url */
  async #showStoryboard(url) {
    this.#cues = [];
    if (!url) return;
    try {
      this.#cues = await loadStoryboard(url);
      this.#root.dataset.storyboard = String(this.#cues.length);
    } catch {
      this.#cues = []; // thumbnails are a nicety: scrubbing still works without them
    }
  }
}

/**
 * @param {HTMLElement} root
 * @param {PlayerOptions} [options]
 */
export function createPlayer(root, options = {}) {
  return new Player(root, options);
}
