import { randomUUID } from 'node:crypto';
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
    sendObject(storage, reply, `hls/${req.params.id}/${req.params['*']}`, req.headers.range),
  );
  registerStaticRoutes(app, { playerDir: PLAYER_DIR });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const prefix = `hls/${randomUUID()}`;
  return { url, storage, prefix, dir: path.join(root, prefix), app };
}
