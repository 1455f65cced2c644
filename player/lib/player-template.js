// @ts-check
// The player's markup: the picture with everything a viewer uses laid over it, so whatever box the player gets (a
// 16:9 iframe on a partner site, the moderator's column, a phone) shows the controls inside that box.

/** @param {string} d an SVG path, drawn in the text colour */
const icon = (d) =>
  `<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false"><path fill="currentColor" d="${d}"/></svg>`;

export const ICONS = {
  play: icon('M8 5v14l11-7z'),
  pause: icon('M6 5h4v14H6zm8 0h4v14h-4z'),
  volume: icon('M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z'),
  muted: icon('M3 9v6h4l5 5V4L7 9H3zm13.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z'),
  fullscreen: icon('M7 14H5v5h5v-2H7v-3zm-2-4h2V7h3V5H5v5zm12 7h-3v2h5v-5h-2v3zM14 5v2h3v3h2V5h-5z'),
  pip: icon('M19 11h-8v6h8v-6zm4 8V5a2 2 0 0 0-2-2H3a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h18a2 2 0 0 0 2-2zm-2 0H3V5h18v14z'),
};

/** Playback speeds of the speed menu (YouTube's, which viewers know). */
export const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];

export const TEMPLATE = `
  <div class="player-frame" data-role="frame">
    <video data-role="video" playsinline preload="metadata"></video>
    <p class="player-title" data-role="title" hidden></p>
    <div class="spinner" data-role="spinner" hidden aria-hidden="true"></div>
    <button type="button" class="big-play" data-role="big-play" aria-label="Play">${ICONS.play}</button>
    <p class="player-status" data-role="status" role="status" aria-live="polite"></p>
    <div class="thumb" data-role="thumb" hidden><div class="thumb-img" data-role="thumb-img"></div><span data-role="thumb-time"></span></div>
    <div class="controls" data-role="controls">
      <button type="button" data-role="play" aria-label="Play" title="Play (k)">${ICONS.play}</button>
      <div class="seek">
        <input type="range" data-role="seek" min="0" max="0" step="0.1" value="0" aria-label="Seek">
        <div class="buffered" aria-hidden="true"><div data-role="buffered"></div></div>
      </div>
      <span class="time" data-role="time">0:00 / 0:00</span>
      <button type="button" data-role="mute" aria-label="Mute" title="Mute (m)">${ICONS.volume}</button>
      <input type="range" class="volume" data-role="volume" min="0" max="1" step="0.05" value="1" aria-label="Volume">
      <label class="speed"><span class="sr-only">Speed</span><select data-role="speed" aria-label="Playback speed">${SPEEDS.map(
        (s) => `<option value="${s}"${s === 1 ? ' selected' : ''}>${s}×</option>`,
      ).join('')}</select></label>
      <label class="captions" hidden><span class="sr-only">Captions</span><select data-role="captions" aria-label="Captions" title="Captions (c)"><option value="-1">CC off</option></select></label>
      <label class="quality"><span class="sr-only">Quality</span><select data-role="quality" aria-label="Quality"><option value="-1">Auto</option></select></label>
      <button type="button" class="pip" data-role="pip" aria-label="Picture in picture" title="Picture in picture" hidden>${ICONS.pip}</button>
      <button type="button" data-role="fullscreen" aria-label="Full screen" title="Full screen (f)">${ICONS.fullscreen}</button>
    </div>
  </div>`;
