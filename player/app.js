// @ts-check
// Upload with tus-js-client, poll processing status, then play the signed HLS master with hls.js (native on Safari).
// An access token may come in the page URL (?access_token=…, as the API accepts it too); without one the page
// plays approved videos through the public playback endpoint.
/* global tus, Hls */
/**
 * The elements of index.html this script uses, by id.
 * @typedef {{ 'upload-form': HTMLFormElement, file: HTMLInputElement, title: HTMLInputElement,
 *   progress: HTMLProgressElement, status: HTMLElement, video: HTMLVideoElement }} PageElements
 */
/**
 * @template {keyof PageElements} K
 * @param {K} id
 */
const $ = (id) => /** @type {PageElements[K]} */ (document.getElementById(id));
const statusEl = $('status');
const setStatus = (/** @type {string} */ text) => {
  statusEl.textContent = text;
};
const params = new URLSearchParams(location.search);
const accessToken = params.get('access_token');
/** @type {Record<string, string>} */
const authHeaders = accessToken ? { authorization: `Bearer ${accessToken}` } : {};

/** @typedef {import('./lib/session.js').Playback} Playback */
/** @typedef {import('./lib/session.js').VideoDetail} VideoDetail */

/**
 * The answer's JSON; `T` is the shape the caller expects (not checked at run time).
 * @template [T=unknown]
 * @param {string} url
 * @returns {Promise<T>}
 */
async function getJson(url) {
  const res = await fetch(url, { headers: authHeaders });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error?.code ?? `status ${res.status}`);
  return body;
}

/** @param {string} playbackUrl */
function play(playbackUrl) {
  const video = $('video');
  if (window.Hls && Hls.isSupported()) {
    // startPosition 0: a moderator previewing a growing EVENT playlist starts at the beginning, not the live edge.
    const hls = new Hls({ startPosition: 0 });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) setStatus(`Playback error: ${data.details}`);
    });
    hls.loadSource(playbackUrl);
    hls.attachMedia(video);
    window.__hls = hls;
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = playbackUrl;
  } else {
    setStatus('This browser cannot play HLS.');
    return;
  }
  video.muted = true; // autoplay policies allow muted playback without a gesture
  video.play().catch(() => setStatus('Press play to start.'));
}

/** @param {string} id */
async function waitUntilReady(id) {
  let playing = false;
  for (;;) {
    /** @type {VideoDetail} */
    const v = await getJson(`/api/videos/${encodeURIComponent(id)}`);
    if (v.playback?.posterUrl) $('video').poster = v.playback.posterUrl;
    // A previewable video plays its growing EVENT playlist; hls.js keeps reloading it until ENDLIST appears.
    if (!playing && v.previewable && v.playback) {
      play(v.playback.url);
      playing = true;
    }
    if (v.status === 'ready' && v.playback) {
      setStatus(v.playback.scope === 'preview' ? 'Ready (preview, awaiting approval).' : 'Ready.');
      return;
    }
    if (v.status === 'failed' || v.status === 'rejected' || v.status === 'infected') {
      setStatus(`Processing failed: ${v.error?.code ?? v.status}`);
      return;
    }
    setStatus(`${playing ? 'Preview while processing' : 'Processing'}: ${v.stage ?? v.status} ${Math.round(v.progress)}%`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Creating an upload needs a short-lived token from the API (for a signed-in uploader); resuming one does not.
/** @returns {Promise<string>} */
async function fetchUploadToken() {
  const res = await fetch('/api/upload-tokens', { method: 'POST', headers: authHeaders });
  if (!res.ok) throw new Error(`upload token: status ${res.status}`);
  return (await res.json()).token;
}

/** @param {string} id */
async function playPublic(id) {
  /** @type {Playback} */
  const p = await getJson(`/api/playback/${encodeURIComponent(id)}`);
  setStatus('Ready.');
  play(p.url);
}

$('upload-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const file = $('file').files?.[0];
  if (!file) return;
  fetchUploadToken().then(
    (token) => startUpload(file, token),
    (err) => setStatus(`Upload failed: ${err.message}`),
  );
});

/**
 * @param {File} file
 * @param {string} token
 */
function startUpload(file, token) {
  const upload = new tus.Upload(file, {
    endpoint: '/uploads',
    headers: { ...authHeaders, 'Upload-Token': token },
    chunkSize: 5 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000],
    metadata: { filename: file.name, filetype: file.type, title: $('title').value },
    onProgress: (sent, total) => {
      $('progress').value = total ? (sent / total) * 100 : 0;
      setStatus(`Uploading… ${Math.round((sent / total) * 100)}%`);
    },
    onError: (err) => setStatus(`Upload failed: ${err.message}`),
    onSuccess: (payload) => {
      const id = /** @type {string} */ (payload.lastResponse.getHeader('Video-Id')); // set on every finished upload
      document.body.dataset.videoId = id;
      params.set('v', id);
      history.replaceState(null, '', `/?${params}`);
      waitUntilReady(id).catch((err) => setStatus(`Status check failed: ${err.message}`));
    },
  });
  upload.findPreviousUploads().then((prev) => {
    if (prev[0]) upload.resumeFromPreviousUpload(prev[0]);
    upload.start();
  });
}

const videoId = params.get('v');
if (videoId) {
  const start = accessToken ? waitUntilReady(videoId) : playPublic(videoId);
  start.catch((err) => setStatus(`Could not play: ${err.message}`));
}
