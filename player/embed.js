// @ts-check
// Embed script for other sites: <script src="https://videos.example/player/embed.js" async></script> turns every
// <div data-kidstream-video="ID"> (optionally data-autoplay="1", data-title="…") into a 16:9 iframe of /embed/ID on
// this server, controls inside the picture. The embedding origin must be listed in CORS_ORIGINS (CSP
// frame-ancestors); when it is not, the browser refuses the frame, and this script says so instead of leaving the
// browser's error page in the site.
(function () {
  var script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  var origin = script ? new URL(script.src).origin : location.origin;
  /** The embed page announces itself once it runs; a frame that stays silent this long after loading was refused. */
  var READY_TIMEOUT_MS = 6000;
  /** @type {WeakSet<Window>} */
  var ready = new WeakSet();

  window.addEventListener('message', function (e) {
    if (e.origin === origin && e.source && e.data && e.data.type === 'kidstream:embed-ready') ready.add(/** @type {Window} */ (e.source));
  });

  /** @param {HTMLIFrameElement} frame */
  function refused(frame) {
    var note = document.createElement('p');
    note.setAttribute('role', 'note');
    note.setAttribute('data-kidstream-error', 'EMBED_NOT_ALLOWED');
    note.textContent =
      'This video cannot be shown on this site. The site owner can ask the video platform to allow ' + location.origin + '.';
    note.style.cssText =
      'margin:0;padding:1rem;background:#222;color:#fff;font:16px system-ui,sans-serif;aspect-ratio:16/9;display:grid;place-items:center;text-align:center';
    frame.replaceWith(note);
    console.warn('kidstream: ' + origin + ' does not allow embedding on ' + location.origin + ' (add it to CORS_ORIGINS there).');
  }

  /** @param {HTMLElement} div */
  function mount(div) {
    if (div.dataset.kidstreamMounted) return;
    div.dataset.kidstreamMounted = '1';
    var frame = document.createElement('iframe');
    var id = encodeURIComponent(/** @type {string} */ (div.getAttribute('data-kidstream-video'))); // scan() selects by it
    frame.src = origin + '/embed/' + id + (div.dataset.autoplay === '1' ? '?autoplay=1' : '');
    frame.title = div.getAttribute('data-title') || 'Video';
    frame.allow = 'autoplay; fullscreen; picture-in-picture';
    frame.allowFullscreen = true;
    frame.setAttribute('loading', 'lazy');
    frame.style.width = '100%';
    frame.style.aspectRatio = '16 / 9';
    frame.style.border = '0';
    frame.style.display = 'block';
    frame.addEventListener('load', function () {
      setTimeout(function () {
        if (frame.isConnected && !(frame.contentWindow && ready.has(frame.contentWindow))) refused(frame);
      }, READY_TIMEOUT_MS);
    });
    div.replaceChildren(frame);
  }
  function scan() {
    /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-kidstream-video]')).forEach(mount);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
  else scan();
})();
