// The vendor bundles (hls.js, tus-js-client) load as classic <script src="/vendor/…"> tags before the page modules and
// define these globals; the pages never import them (there is no build step).
import type HlsClass from 'hls.js';
import type * as TusJs from 'tus-js-client';

declare global {
  const Hls: typeof HlsClass;
  /** An hls.js player instance. */
  type Hls = HlsClass;
  const tus: typeof TusJs;
  interface Window {
    Hls?: typeof HlsClass;
    /** The page's hls.js instance, for tests and devtools (levels, currentLevel). */
    __hls?: HlsClass | undefined;
  }
}
