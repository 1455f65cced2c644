import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';
import type { PipelineMetrics } from '../core/metrics.ts';

/**
 * GET /metrics for a process that runs only the worker role: what happens inside workers (stalls, retries,
 * reconciler repairs, transcode times) is counted there, and a process without the API has no other HTTP server.
 * Plain node:http and one route: nothing else is served. Keep the port on the internal network, like the API's /metrics.
 */
export async function serveWorkerMetrics(o: {
  metrics: PipelineMetrics;
  host: string;
  port: number;
  logger: Logger;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    o.metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(body),
      (err: unknown) => {
        o.logger.error({ err: describeError(err) }, 'worker metrics failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${o.host}:${port}/metrics`;
  o.logger.info({ url }, 'worker metrics listening');
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
