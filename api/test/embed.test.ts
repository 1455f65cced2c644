import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { tokenFor } from '../../test/helpers/auth.ts';
import { launchChromium } from '../../test/helpers/browser.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { tusUpload } from '../../test/helpers/tus-upload.ts';
import { call } from './http.ts';

const require = createRequire(import.meta.url);

/** A third-party page that embeds our player: its own hls.js, our API and signed HLS across origins. */
function embedPage(api: string, videoId: string): string {
  return `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.js"></script>
<script>
fetch('${api}/api/playback/${videoId}').then((r) => r.json()).then((p) => {
  const hls = new Hls(); window.__hls = hls;
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.__fatal = d.details; });
  hls.loadSource('${api}' + p.url); hls.attachMedia(document.getElementById('v'));
  document.getElementById('v').play();
}).catch((e) => { window.__fatal = String(e); });
</script></body></html>`;
}

describe('embedding the player on another origin (CORS allow-list)', () => {
  let t: TestApp;
  let site: Server;
  let sitePort: number;
  let tmp: string;
  let videoId: string;

  beforeAll(async () => {
    const hlsJs = await readFile(require.resolve('hls.js/dist/hls.min.js'));
    site = createServer((req, res) => {
      if (req.url === '/hls.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
      res.writeHead(200, { 'content-type': 'text/html' }).end(embedPage(t.url, videoId));
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    sitePort = (site.address() as AddressInfo).port;
    // Only the "localhost" name of the site is allowed; the same page under 127.0.0.1 is another, unlisted origin.
    t = await startTestApp({ env: { CORS_ORIGINS: `http://localhost:${sitePort}` } });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-embed-'));
    const clip = await makeClip({ out: path.join(tmp, 'e.mp4'), durationSec: 3, width: 320, height: 180 });
    videoId = (await tusUpload(`${t.url}/uploads`, clip, { filename: 'e.mp4', title: 'embed' })).videoId;
    const mod = await tokenFor('mod', 'moderator');
    await waitFor(
      async () => {
        const v = await call<{ status: string }>(t.url, 'GET', `/api/videos/${videoId}`, { token: mod });
        if (v.body.status === 'failed' || v.body.status === 'rejected') throw new Error(`video ${v.body.status}`);
        return v.body.status === 'ready' ? true : undefined;
      },
      { timeoutMs: 90_000, what: 'video ready' },
    );
    await call(t.url, 'POST', `/api/moderation/videos/${videoId}/approve`, { token: mod, body: {} });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => site?.close(r));
    await rm(tmp, { recursive: true, force: true });
  });

  it('plays an approved video in Chromium from an allowed origin and is blocked from another', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://localhost:${sitePort}/`);
      await page.waitForFunction(
        () => {
          const v = document.querySelector('video');
          return (v !== null && v.currentTime > 1) || (window as unknown as { __fatal?: string }).__fatal !== undefined;
        },
        undefined,
        { timeout: 60_000 },
      );
      expect(await page.evaluate(() => (window as unknown as { __fatal?: string }).__fatal)).toBeUndefined();

      const other = await browser.newPage();
      await other.goto(`http://127.0.0.1:${sitePort}/`);
      await other.waitForFunction(() => (window as unknown as { __fatal?: string }).__fatal !== undefined, undefined, { timeout: 30_000 });
      expect(await other.evaluate(() => (window as unknown as { __fatal?: string }).__fatal)).toMatch(/TypeError/);
    } finally {
      await browser.close();
    }
  });
});
