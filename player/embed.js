// @ts-check
// Embed script for other sites: <script src="https://videos.example/player/embed.js" async></script> turns every
// <div data-kidstream-video="ID"> (optionally data-autoplay="1") into a 16:9 iframe of /embed/ID on this server.
// The embedding origin must be listed in CORS_ORIGINS (CSP frame-ancestors).
(function () {
  var script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  var origin = script ? new URL(script.src).origin : location.origin;
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
    div.replaceChildren(frame);
  }
  function scan() {
    /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-kidstream-video]')).forEach(mount);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
  else scan();
})();
