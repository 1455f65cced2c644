import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PipelineError } from '../core/errors.ts';

export interface StaticRoutesOptions {
  /** Directory with the web pages (player/). */
  readonly playerDir: string;
}

const require = createRequire(import.meta.url);
/** Browser bundles served from node_modules, so the pages need no build step and no CDN. */
const VENDOR: Readonly<Record<string, string>> = {
  'hls.js': require.resolve('hls.js/dist/hls.min.js'),
  'tus.js': require.resolve('tus-js-client/dist/tus.min.js'),
};
const PAGE_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

async function sendFile(reply: import('fastify').FastifyReply, file: string, type: string) {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new PipelineError('API_NOT_FOUND', `No file ${path.basename(file)}.`);
  return reply.header('content-type', type).header('content-length', String(st.size)).send(createReadStream(file));
}

export function registerStaticRoutes(app: FastifyInstance, o: StaticRoutesOptions): void {
  const root = path.resolve(o.playerDir);
  const page = (name: string) => (_req: unknown, reply: import('fastify').FastifyReply) =>
    sendFile(reply, path.join(root, name), PAGE_TYPES['.html']!);
  app.get('/', page('index.html'));
  app.get('/upload', page('upload.html'));
  app.get('/moderate', page('moderate.html'));
  // The embed page reads the video id from its own path (or ?src= for a signed URL); see player/embed-page.js.
  app.get('/embed', page('embed.html'));
  app.get('/embed/:id', page('embed.html'));
  // Browsers ask for /favicon.ico whatever a page links; one SVG answers both (every page links it with its type).
  app.get('/favicon.ico', (_req, reply) => sendFile(reply, path.join(root, 'favicon.svg'), PAGE_TYPES['.svg']!));
  app.get<{ Params: { name: string } }>('/vendor/:name', (req, reply) => {
    const file = VENDOR[req.params.name];
    if (!file) throw new PipelineError('API_NOT_FOUND', `No vendor bundle ${req.params.name}.`);
    return sendFile(reply, file, PAGE_TYPES['.js']!);
  });
  app.get<{ Params: { '*': string } }>('/player/*', (req, reply) => {
    const file = path.resolve(root, req.params['*']);
    const type = PAGE_TYPES[path.extname(file)];
    if (!file.startsWith(root + path.sep) || !type) throw new PipelineError('API_NOT_FOUND', 'No such page asset.');
    // Partner sites load the embed script from their own origin; helmet's same-origin CORP would block it.
    if (file === path.join(root, 'embed.js')) reply.header('cross-origin-resource-policy', 'cross-origin');
    return sendFile(reply, file, type);
  });
}
