// @ts-check
// Viewing-analytics beacons of one playback session (README "Viewing analytics"): start (startup time), heartbeats
// (spans of continuous playback at one rung), seeks, quality switches, stalls, errors and the end, batched and sent to
// POST /api/analytics/beacons with the session token the playback answer carried. Nothing about the viewer is sent:
// no id, no cookie; the token is the only credential and the server stores only a daily-salted hash of it.
/* global Hls */

const ENDPOINT = '/api/analytics/beacons';
/** One beacon about every 10 s while playing: the server's per-session budget is 60 a minute. */
const HEARTBEAT_MS = 10_000;
/** The server refuses larger batches (ANALYTICS_BATCH_TOO_LARGE). */
const MAX_BATCH = 50;
/** Errors reported per session at most: a failing stream must not flood the endpoint. */
const MAX_ERRORS = 10;

/**
 * @typedef {{ type: string, seq: number, at: number } & Record<string, unknown>} BeaconEvent
 * @typedef {{ bitrate: number, height: number }} Rung
 */

export class PlaybackAnalytics {
  /** @type {BeaconEvent[]} */
  #queue = [];
  #seq = 0;
  #t0 = performance.now();
  /** @type {number | null} when play was requested (startup clock) */
  #playAt = null;
  #started = false;
  /** @type {number | null} start of the current span of continuous playback (media s) */
  #spanFrom = null;
  #lastPos = 0;
  /** @type {number | null} */
  #stallAt = null;
  #errors = 0;
  #stopped = false;
  /** @type {Rung} */
  #rung = { bitrate: 0, height: 0 };
  /** @type {number | null} */
  #level = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #timer;
  #sent = 0;

  /**
   * @param {{ videoId: string, session: string, video: HTMLVideoElement, root: HTMLElement }} o
   */
  constructor(o) {
    this.o = o;
    const v = o.video;
    /** @type {Array<[EventTarget, string, EventListener]>} */
    this.listeners = [
      [v, 'play', () => (this.#playAt ??= performance.now())],
      [v, 'playing', () => this.#onPlaying()],
      [v, 'waiting', () => this.#onWaiting()],
      [v, 'pause', () => this.#closeSpan()],
      [v, 'seeking', () => this.#onSeeking()],
      [v, 'timeupdate', () => this.#onTime()],
      [v, 'ended', () => this.#onEnded()],
      [v, 'error', () => this.error(v.error ? `MEDIA_ERR_${v.error.code}` : 'MEDIA_ERR', true)],
      [window, 'pagehide', () => this.#flushOnHide()],
      [document, 'visibilitychange', () => document.visibilityState === 'hidden' && this.#flushOnHide()],
    ];
    for (const [target, name, fn] of this.listeners) target.addEventListener(name, fn);
    this.#timer = setInterval(() => {
      if (this.#spanFrom !== null) {
        this.#closeSpan();
        this.#spanFrom = this.o.video.currentTime;
      }
      this.flush();
    }, HEARTBEAT_MS);
  }

  /** Follows an hls.js instance: its rung switches and errors. @param {Hls} hls */
  attachHls(hls) {
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
      const l = hls.levels[data.level];
      const rung = { bitrate: l?.bitrate ?? 0, height: l?.height ?? 0 };
      if (this.#level !== null && this.#level !== data.level) {
        this.#closeSpan();
        if (!this.o.video.paused) this.#spanFrom = this.o.video.currentTime;
        this.#push('quality', { level: data.level, ...rung });
      }
      this.#level = data.level;
      this.#rung = rung;
    });
    hls.on(Hls.Events.ERROR, (_e, data) => this.error(String(data.details), data.fatal));
  }

  /** @param {string} code @param {boolean} fatal */
  error(code, fatal) {
    if (this.#errors++ >= MAX_ERRORS) return;
    this.#push('error', { code: code.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 64) || 'unknown', fatal });
    if (fatal) this.flush();
  }

  /** @param {string} type @param {Record<string, unknown>} [fields] */
  #push(type, fields = {}) {
    if (this.#stopped) return;
    this.#queue.push({ type, seq: this.#seq++, at: Math.round(performance.now() - this.#t0), ...fields });
  }

  #onPlaying() {
    const v = this.o.video;
    if (!this.#started) {
      this.#started = true;
      const startupMs = Math.round(performance.now() - (this.#playAt ?? this.#t0));
      this.#push('start', { startupMs, duration: Number.isFinite(v.duration) ? v.duration : 0 });
      if (!this.#rung.height) this.#rung = { bitrate: this.#rung.bitrate, height: v.videoHeight };
    }
    if (this.#stallAt !== null) {
      this.#push('stall', { durationMs: Math.round(performance.now() - this.#stallAt), pos: v.currentTime });
      this.#stallAt = null;
    }
    this.#spanFrom ??= v.currentTime;
  }

  #onWaiting() {
    // Waiting before the first frame is startup; after a seek it is the seek's own cost, not a stall.
    if (!this.#started || this.o.video.seeking) return;
    this.#closeSpan();
    this.#stallAt ??= performance.now();
  }

  #onSeeking() {
    const from = this.#lastPos;
    this.#closeSpan();
    this.#stallAt = null;
    this.#push('seek', { from, to: this.o.video.currentTime });
    this.#lastPos = this.o.video.currentTime;
  }

  #onTime() {
    const v = this.o.video;
    if (!v.seeking) this.#lastPos = v.currentTime;
  }

  #onEnded() {
    this.#closeSpan(this.o.video.duration);
    this.#push('end', { pos: this.o.video.currentTime });
    this.flush();
  }

  /** Ends the current span of playback at `to` (default: the last position seen) as a heartbeat. @param {number} [to] */
  #closeSpan(to) {
    const from = this.#spanFrom;
    this.#spanFrom = null;
    if (from === null) return;
    // While seeking, currentTime already names the target: the span ended at the last position played.
    const end = to ?? (this.o.video.seeking ? this.#lastPos : this.o.video.currentTime);
    if (Number.isFinite(end) && end > from) this.#push('heartbeat', { from, to: end, ...this.#rung });
  }

  /** Batches of the queue as request bodies. */
  #drain() {
    const bodies = [];
    while (this.#queue.length) {
      const events = this.#queue.splice(0, MAX_BATCH);
      this.#sent += events.length;
      bodies.push(JSON.stringify({ videoId: this.o.videoId, session: this.o.session, events }));
    }
    this.o.root.dataset.analytics = String(this.#sent);
    return bodies;
  }

  /** Sends what is queued (fetch with keepalive, so it survives a navigation). */
  flush() {
    for (const body of this.#drain()) {
      fetch(ENDPOINT, { method: 'POST', body, keepalive: true, headers: { 'content-type': 'application/json' } })
        .then((res) => {
          // A refused session (expired, forged, over budget) stays refused: stop instead of retrying every 10 s.
          if (res.status === 403 || res.status === 429) this.#stopped = true;
        })
        .catch(() => undefined); // statistics are best effort; playback never waits for them
    }
  }

  /** Page hidden or closing: the browser may kill fetches now, sendBeacon is delivered anyway. */
  #flushOnHide() {
    if (this.#spanFrom !== null && !this.o.video.paused) {
      this.#closeSpan(this.o.video.currentTime);
      this.#spanFrom = this.o.video.currentTime;
    }
    for (const body of this.#drain()) navigator.sendBeacon(ENDPOINT, new Blob([body], { type: 'application/json' }));
  }

  /** Sends the rest and stops listening (player destroyed, another video loaded). */
  close() {
    clearInterval(this.#timer);
    this.#closeSpan();
    this.flush();
    this.#stopped = true;
    for (const [target, name, fn] of this.listeners) target.removeEventListener(name, fn);
  }
}
