// @ts-check
// The embeddable player page: /embed/<video id> (fetches a signed URL from /api/playback/<id>) or
// /embed?src=<signed master URL>[&poster=…&storyboard=…&session=…] (URLs the embedding site got from the API).
// When a signature expires, a fresh URL comes from /api/playback/<id> (the id is in the URL path /hls/<id>/…).
import { createPlayer } from './lib/hls-player.js';
import { messageFor } from './lib/messages.js';
import { api, takeAccessToken } from './lib/session.js';

const token = takeAccessToken();
const params = new URLSearchParams(location.search);
const src = params.get('src');
const idFromPath = /^\/embed\/([0-9a-f-]{36})\/?$/i.exec(location.pathname)?.[1];
const idFromSrc = src ? /\/hls\/([0-9a-f-]{36})\//i.exec(new URL(src, location.href).pathname)?.[1] : undefined;
const videoId = idFromPath ?? params.get('v') ?? idFromSrc;

const root = /** @type {HTMLElement} */ (document.getElementById('player'));
/** @typedef {import('./lib/session.js').Playback} Playback */
/** Called only when there is a video id. @type {() => Promise<Playback>} */
const fetchPlayback = () => api(`/api/playback/${encodeURIComponent(/** @type {string} */ (videoId))}`, { token });
const player = createPlayer(root, { refresh: videoId ? fetchPlayback : undefined, keyboardTarget: document });
root.focus();
// embed.js on the partner's page waits for this: a frame that never says it runs was refused by frame-ancestors.
if (window.parent !== window) window.parent.postMessage({ type: 'kidstream:embed-ready' }, '*');
const status = /** @type {HTMLElement} */ (root.querySelector('[data-role="status"]'));

async function start() {
  // With a signed URL, the embedding site passes the rest of the API's playback object along (all signed too).
  if (src)
    return player.load({
      url: src,
      posterUrl: params.get('poster'),
      storyboardUrl: params.get('storyboard'),
      // The answer's analyticsSession, when the embedding site passes it on: without it nothing is counted.
      analyticsSession: params.get('session'),
    });
  if (!videoId) {
    status.textContent = 'No video given.';
    return;
  }
  player.load(await fetchPlayback());
}

start().then(
  () => {
    if (params.get('autoplay') === '1') {
      player.video.muted = true;
      player.play();
    }
  },
  (err) => {
    status.textContent = messageFor(err.code ?? 'NETWORK');
    root.dataset.error = err.code ?? 'NETWORK';
  },
);
