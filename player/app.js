// Upload with tus-js-client, poll processing status, then play the HLS master with hls.js (native HLS on Safari).
/* global tus, Hls */
const $ = (id) => document.getElementById(id);
const statusEl = $('status');
const setStatus = (text) => { statusEl.textContent = text; };

async function fetchVideo(id) {
  const res = await fetch(`/api/videos/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`status ${res.status}`);
  return res.json();
}

function play(masterUrl) {
  const video = $('video');
  if (window.Hls && Hls.isSupported()) {
    // startPosition 0: a moderator previewing a growing EVENT playlist starts at the beginning, not the live edge.
    const hls = new Hls({ startPosition: 0 });
    hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) setStatus(`Playback error: ${data.details}`); });
    hls.loadSource(masterUrl);
    hls.attachMedia(video);
    window.__hls = hls;
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = masterUrl;
  } else {
    setStatus('This browser cannot play HLS.');
    return;
  }
  video.muted = true; // autoplay policies allow muted playback without a gesture
  video.play().catch(() => setStatus('Press play to start.'));
}

async function waitUntilReady(id) {
  let playing = false;
  for (;;) {
    const v = await fetchVideo(id);
    if (v.posterUrl) $('video').poster = v.posterUrl;
    // A previewable video plays its growing EVENT playlist; hls.js keeps reloading it until ENDLIST appears.
    if (!playing && v.previewable && v.masterUrl) { play(v.masterUrl); playing = true; }
    if (v.status === 'ready') { setStatus('Ready.'); return; }
    if (v.status === 'failed' || v.status === 'rejected') { setStatus(`Processing failed: ${v.error?.code ?? v.status}`); return; }
    setStatus(`${playing ? 'Preview while processing' : 'Processing'}: ${v.stage ?? v.status} ${Math.round(v.progress)}%`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

$('upload-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const file = $('file').files[0];
  if (!file) return;
  const upload = new tus.Upload(file, {
    endpoint: '/uploads',
    chunkSize: 5 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000],
    metadata: { filename: file.name, filetype: file.type, title: $('title').value },
    onProgress: (sent, total) => {
      $('progress').value = total ? (sent / total) * 100 : 0;
      setStatus(`Uploading… ${Math.round((sent / total) * 100)}%`);
    },
    onError: (err) => setStatus(`Upload failed: ${err.message}`),
    onSuccess: (payload) => {
      const id = payload.lastResponse.getHeader('Video-Id');
      document.body.dataset.videoId = id;
      history.replaceState(null, '', `/?v=${id}`);
      waitUntilReady(id).catch((err) => setStatus(`Status check failed: ${err.message}`));
    },
  });
  upload.findPreviousUploads().then((prev) => {
    if (prev.length > 0) upload.resumeFromPreviousUpload(prev[0]);
    upload.start();
  });
});

const params = new URLSearchParams(location.search);
if (params.get('v')) waitUntilReady(params.get('v')).catch((err) => setStatus(`Status check failed: ${err.message}`));
