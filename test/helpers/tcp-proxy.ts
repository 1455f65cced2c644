import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** The port clients connect to; it stays the same across cut() and restore(). */
  readonly port: number;
  /** The service goes away: open connections are reset and new ones refused (ECONNREFUSED). */
  cut(): Promise<void>;
  /** The service is back on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
  /** Bytes clients have sent through the proxy so far (what crossed the wire towards the service). */
  bytesFromClients(): number;
}

/**
 * A TCP forwarder in front of a real service (PostgreSQL, an S3 server), so a test can take that service away from
 * one client and give it back without stopping the service others share.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let fromClients = 0;
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    track(client);
    track(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => (fromClients += chunk.length));
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  const cut = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.resetAndDestroy();
    await closed;
  };
  return {
    port,
    cut,
    restore: async () => {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    close: cut,
    bytesFromClients: () => fromClients,
  };
}
