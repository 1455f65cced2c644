import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../api/errors.ts';
import { sendObject } from '../../api/playback/send-object.ts';
import { registerStaticRoutes } from '../../api/static-routes.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';

const PLAYER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'player');

export interface PackageServer {
  readonly url: string;
  readonly storage: LocalDiskStorage;
  /** Storage prefix of the package: hls/<uuid>. */
  readonly prefix: string;
  /** Absolute directory of the published package. */
  readonly dir: string;
  readonly app: FastifyInstance;
}

/** The API's object serving (Range included) and static routes over a local-disk store on port 0. */
export async function servePackages(root: string): Promise<PackageServer> {
  const storage = new LocalDiskStorage({ root });
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  // Unsigned on purpose: these tests check the package itself; signing is api/test/playback.test.ts's subject.
  app.get<{ Params: { id: string; '*': string } }>('/hls/:id/*', (req, reply) =>
    sendObject(storage, reply, `hls/${req.params.id}/${req.params['*']}`, req.headers.range));
  registerStaticRoutes(app, { playerDir: PLAYER_DIR });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const prefix = `hls/${randomUUID()}`;
  return { url, storage, prefix, dir: path.join(root, prefix), app };
}

export interface SlowSource {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `file` over HTTP at a steady pace, spread over `seconds`, like a source arriving slowly: ffmpeg can only
 * transcode what has arrived. Every request gets the whole file from the start (fluent-ffmpeg runs an ffprobe on the
 * input in parallel with ffmpeg, so a FIFO would split the bytes between them).
 */
export async function serveSlowly(file: string, seconds: number): Promise<SlowSource> {
  const data = await readFile(file);
  const steps = Math.max(1, Math.round(seconds * 5));
  const server = createServer((req, res) => {
    let closed = false;
    res.on('close', () => { closed = true; });
    res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': String(data.length) });
    void (async () => {
      for (let i = 0; i < steps && !closed; i++) {
        res.write(data.subarray(Math.floor((i * data.length) / steps), Math.floor(((i + 1) * data.length) / steps)));
        await new Promise((r) => setTimeout(r, 200));
      }
      res.end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/${path.basename(file)}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
      return closing;
    },
  };
}
