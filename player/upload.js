// @ts-check
// Uploader page: tus-js-client with resume (same tab after a reload, or after the network comes back), parallel
// streams for big files, speed/ETA, then the processing status until the video is ready or refused.
/* global tus */
import { createRateMeter, formatBytes, formatTime } from './lib/format.js';
import { messageFor } from './lib/messages.js';
import { api, claimsOf, takeAccessToken } from './lib/session.js';
import { editorFor } from './lib/edit-video.js';
import { showMyVideos } from './lib/my-videos.js';
import { codeOfTusError } from './lib/tus-errors.js';
import { describeVideo } from './lib/status-text.js';

/** @typedef {import('./lib/session.js').VideoDetail} VideoDetail */
/** @typedef {import('tus-js-client').Upload} Upload */
/**
 * The elements of upload.html this script uses whose type matters, by id; any other id is a plain element.
 * @typedef {{ 'upload-form': HTMLFormElement, file: HTMLInputElement, title: HTMLInputElement,
 *   description: HTMLTextAreaElement, start: HTMLButtonElement, progress: HTMLProgressElement,
 *   'processing-progress': HTMLProgressElement, 'watch-link': HTMLAnchorElement }} PageElements
 */
/**
 * @template {string} K
 * @param {K} id
 * @returns {K extends keyof PageElements ? PageElements[K] : HTMLElement}
 */
const $ = (id) => /** @type {K extends keyof PageElements ? PageElements[K] : HTMLElement} */ (document.getElementById(id));
const token = takeAccessToken();
const user = token ? (claimsOf(token).sub ?? 'anon') : 'anon';
const form = $('upload-form');
const ENDPOINT = '/uploads';
const POLL_MS = 1500;
/** @type {Upload | null} */
let upload = null;
const meter = createRateMeter();

const setStatus = (/** @type {string} */ t) => {
  $('status').textContent = t;
};
/** @param {string | null} code */
function showError(code) {
  $('error').textContent = code ? messageFor(code) : '';
  document.body.dataset.errorCode = code ?? '';
}

const onEdit = token ? editorFor(token, { setStatus, showError, refresh: () => refreshMine() }) : undefined;
const refreshMine = () => token && showMyVideos($('my-videos'), $('mine-empty'), token, onEdit).catch(() => undefined);

/**
 * Once a file is uploaded the form is done with: locked (pressing Upload again would send a duplicate) until the user
 * asks for another upload, which clears it.
 * @param {boolean} done
 */
function setFinished(done) {
  for (const id of /** @type {const} */ (['file', 'title', 'description', 'start'])) $(id).disabled = done;
  $('another').hidden = !done;
  if (done) $('resume-hint').hidden = true;
}

$('another').addEventListener('click', () => {
  form.reset();
  setFinished(false);
  $('drop-text').textContent = 'Drag a video here, or choose a file';
  for (const id of /** @type {const} */ (['processing', 'links'])) $(id).hidden = true;
  $('progress').value = 0;
  $('processing-progress').value = 0;
  $('rate').textContent = '';
  showError(null);
  setStatus('Choose a file to start.');
  delete document.body.dataset.videoId;
  delete document.body.dataset.videoStatus;
  history.replaceState(history.state, '', location.pathname);
  $('file').focus();
});

/**
 * Per user and file, so two accounts in one browser never resume each other's uploads.
 * @type {(file: File, options: { endpoint?: string | null }) => Promise<string>}
 */
const fingerprint = (file, options) =>
  Promise.resolve(['kidstream', user, file.name, file.type, file.size, file.lastModified, options.endpoint].join('|'));

async function showResumeHint() {
  const all = await tus.defaultOptions.urlStorage.findAllUploads().catch(() => []);
  const mine = all.filter((u) => typeof u.urlStorageKey === 'string' && u.urlStorageKey.includes(`kidstream|${user}|`));
  const [first] = mine;
  if (!first) return;
  const name = first.metadata?.filename ?? 'a video';
  $('resume-hint').textContent = `You have an unfinished upload of “${name}”. Choose the same file again to continue where it stopped.`;
  $('resume-hint').hidden = false;
  // The form was lost with the reload; what the user typed was stored with the upload (a parallel upload only sends
  // it with the final request, so it must be the same again).
  if (!$('title').value && first.metadata?.title) $('title').value = first.metadata.title;
  if (!$('description').value && first.metadata?.description) $('description').value = first.metadata.description;
}

/**
 * @param {number} sent
 * @param {number} total
 */
function onProgress(sent, total) {
  meter.add(sent);
  const pct = total ? (sent / total) * 100 : 0;
  $('progress').value = pct;
  const rate = meter.rate();
  const eta = rate > 0 ? ` · about ${formatTime((total - sent) / rate)} left` : '';
  $('rate').textContent = `${formatBytes(sent)} of ${formatBytes(total)} · ${formatBytes(rate)}/s${eta}`;
  // The status is a live region: announce every 10 %, not every progress event.
  const step = `Uploading… ${Math.floor(pct / 10) * 10}%`;
  if ($('status').textContent !== step) setStatus(step);
}

/** @param {boolean} active */
function setUploading(active) {
  $('pause').hidden = !active && !upload;
  $('start').disabled = active;
  $('pause').textContent = active ? 'Pause' : 'Resume';
}

/**
 * @param {File} file
 * @param {string} uploadToken
 */
function startUpload(file, uploadToken) {
  const parallelMin = Number(form.dataset.parallelMinBytes);
  const parallel = file.size >= parallelMin ? Number(form.dataset.parallelStreams) : 1;
  upload = new tus.Upload(file, {
    endpoint: ENDPOINT,
    headers: { 'Upload-Token': uploadToken },
    chunkSize: Number(form.dataset.chunkBytes),
    // Big files go up in parallel streams (server: tus concatenation); tus-js-client stores the partial URLs, so a
    // reload resumes each stream. Retries cover short network drops; longer ones wait for the `online` event.
    parallelUploads: parallel,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    fingerprint,
    removeFingerprintOnSuccess: true,
    metadata: { filename: file.name, filetype: file.type, title: $('title').value.trim(), description: $('description').value },
    metadataForPartialUploads: {},
    onProgress,
    onError: async (err) => {
      const code = await codeOfTusError(err);
      setUploading(false);
      if (code === 'NETWORK' && !navigator.onLine) {
        setStatus('Offline — the upload continues when the connection is back.');
        return;
      }
      showError(code);
      setStatus('Upload stopped.');
    },
    onSuccess: (payload) => {
      const id = /** @type {string} */ (payload.lastResponse.getHeader('Video-Id')); // set on every finished upload
      upload = null;
      setUploading(false);
      $('pause').hidden = true;
      $('progress').value = 100;
      $('rate').textContent = '';
      setFinished(true);
      follow(id);
    },
  });
  upload.findPreviousUploads().then((prev) => {
    const current = /** @type {Upload} */ (upload); // only success clears it, and this upload has not started yet
    if (prev[0]) {
      current.resumeFromPreviousUpload(prev[0]);
      setStatus('Resuming your earlier upload…');
    }
    meter.reset();
    setUploading(true);
    current.start();
  });
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const file = $('file').files?.[0];
  if (!file) {
    setStatus('Choose a video file first.');
    $('file').focus();
    return;
  }
  if (!$('title').value.trim()) {
    showError('INGEST_BAD_METADATA');
    $('title').focus();
    return;
  }
  if (!token) {
    showError('AUTH_MISSING_TOKEN');
    return;
  }
  setStatus('Starting…');
  try {
    // Only creating an upload needs this short-lived token; resuming one uses the upload URL alone.
    /** @type {{ token: string }} */
    const { token: uploadToken } = await api('/api/upload-tokens', { token, method: 'POST', body: {} });
    startUpload(file, uploadToken);
  } catch (err) {
    showError(/** @type {{ code?: string }} */ (err).code ?? 'NETWORK');
  }
});

$('pause').addEventListener('click', () => {
  if (!upload) return;
  if ($('pause').textContent === 'Pause') {
    upload.abort().then(() => {
      setUploading(false);
      // Speed and time left mean nothing while paused: only what has been sent stays.
      $('rate').textContent = `${$('rate').textContent.split(' · ')[0]} · paused`;
      setStatus('Paused. Press Resume to continue.');
    });
  } else {
    meter.reset();
    setUploading(true);
    upload.start();
  }
});

window.addEventListener('online', () => {
  if (upload && $('pause').textContent === 'Resume') {
    meter.reset();
    setUploading(true);
    upload.start();
  }
});
window.addEventListener('offline', () => setStatus('Offline — the upload continues when the connection is back.'));

// Drag and drop onto the file picker's label; the input stays the single source of the chosen file.
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer?.files.length) {
    $('file').files = e.dataTransfer.files;
    onFileChosen();
  }
});
$('file').addEventListener('change', onFileChosen);
function onFileChosen() {
  const f = $('file').files?.[0];
  if (!f) return;
  $('drop-text').textContent = `${f.name} (${formatBytes(f.size)})`;
  if (!$('title').value) $('title').value = f.name.replace(/\.[^.]+$/, '').slice(0, 200);
}

/**
 * Polls the video until it is ready or refused; the id goes into the URL so a reload keeps following it.
 * @param {string} id
 */
async function follow(id) {
  const url = new URL(location.href);
  url.searchParams.set('v', id);
  history.replaceState(history.state, '', url.pathname + url.search);
  document.body.dataset.videoId = id;
  $('processing').hidden = false;
  for (;;) {
    /** @type {VideoDetail} */
    let v;
    try {
      v = await api(`/api/videos/${encodeURIComponent(id)}`, { token });
    } catch (err) {
      const { code } = /** @type {{ code?: string }} */ (err);
      if (code === 'AUTH_INVALID_TOKEN' || code === 'API_NOT_FOUND') {
        showError(code);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS * 2));
      continue;
    }
    document.body.dataset.videoStatus = v.status;
    // One bar from upload to ready that never goes back (a wait for a service does not say how far the job had come).
    if (v.overallProgress !== null) $('processing-progress').value = Math.max($('processing-progress').value, v.overallProgress);
    if (['failed', 'rejected', 'infected'].includes(v.status)) {
      setStatus('This video cannot be published.');
      showError(v.error?.code ?? v.status);
      refreshMine();
      return;
    }
    setStatus(describeVideo(v));
    if (v.status === 'ready') {
      if (v.playback) {
        $('watch-link').href = `/embed/${id}`;
        $('links').hidden = false;
      }
      refreshMine();
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const resumeId = new URLSearchParams(location.search).get('v');
if (resumeId) {
  setFinished(true);
  follow(resumeId);
} else showResumeHint();
refreshMine();
if (!token) showError('AUTH_MISSING_TOKEN');
