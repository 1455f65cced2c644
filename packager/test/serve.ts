import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../api/errors.ts';
import { registerHlsRoutes } from '../../api/hls-routes.ts';
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

/** The API's own HLS and static routes over a local-disk store on port 0: what a player fetches in production. */
export async function servePackages(root: string): Promise<PackageServer> {
  const storage = new LocalDiskStorage({ root });
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  registerHlsRoutes(app, { storage });
  registerStaticRoutes(app, { playerDir: PLAYER_DIR });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const prefix = `hls/${randomUUID()}`;
  return { url, storage, prefix, dir: path.join(root, prefix), app };
}
