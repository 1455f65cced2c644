import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyStream, nodeRequest } from '../node-request.ts';

const KiB = 1024;
const MAX_BATCH = 256 * KiB;
/** One socket read (64 KiB), the request's own buffer (16 KiB) and the request head: what may sit beside a batch. */
const SLACK = 64 * KiB + 16 * KiB + 4 * KiB;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

describe('node request body for @tus/server', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  async function serve(handler: Handler): Promise<number> {
    server = http.createServer(handler);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  /** PUTs `body` in 16 KiB writes; resolves with the response text. */
  function put(port: number, body: Buffer, method = 'PATCH'): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, headers: { 'content-length': body.length } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      let at = 0;
      const more = (): void => {
        while (at < body.length) {
          const ok = req.write(body.subarray(at, at + 16 * KiB));
          at += 16 * KiB;
          if (!ok) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    });
  }

  it('passes every byte in order to a slow reader, in batches bounded by maxBatchBytes, holding no more than that', async () => {
    const data = randomBytes(8 * 1024 * KiB);
    const seen = { biggest: 0, heldMax: 0 };
    const port = await serve((req, res) => {
      void (async () => {
        const reader = bodyStream(req, MAX_BATCH).getReader();
        const hash = createHash('sha256');
        let delivered = 0;
        for (;;) {
          // A reader slower than the socket, like a file write in flight: batches form while it is away.
          await new Promise((r) => setImmediate(r));
          const { done, value } = await reader.read();
          if (done) break;
          hash.update(value);
          delivered += value.length;
          seen.biggest = Math.max(seen.biggest, value.length);
          // What this process read off the socket and has not handed over yet: the memory the stream holds.
          seen.heldMax = Math.max(seen.heldMax, req.socket.bytesRead - delivered);
        }
        res.end(`${delivered} ${hash.digest('hex')}`);
      })();
    });
    const answer = await put(port, data);
    expect(answer).toBe(`${data.length} ${createHash('sha256').update(data).digest('hex')}`);
    expect(seen.biggest).toBeGreaterThan(64 * KiB);
    expect(seen.biggest).toBeLessThanOrEqual(MAX_BATCH + 64 * KiB);
    expect(seen.heldMax).toBeLessThanOrEqual(MAX_BATCH + SLACK);
  });

  it('errors the body when the client goes away mid-body (@tus/server then keeps what was stored)', async () => {
    let failure: Promise<unknown> | undefined;
    let gotBytes: () => void;
    const firstBytes = new Promise<void>((r) => (gotBytes = r));
    const port = await serve((req) => {
      const reader = bodyStream(req, MAX_BATCH).getReader();
      failure = (async () => {
        for (;;) {
          const { done } = await reader.read();
          gotBytes();
          if (done) return 'ended';
        }
      })().catch((err: unknown) => err);
    });
    const req = http.request({ host: '127.0.0.1', port, method: 'PATCH', headers: { 'content-length': 1024 * KiB } });
    req.on('error', () => undefined);
    req.write(randomBytes(64 * KiB));
    await firstBytes;
    req.destroy();
    const err = await failure;
    // Node reports a connection reset mid-body as 'aborted' (ECONNRESET), a close without it as premature close.
    expect(err).toBeInstanceOf(Error);
    expect([(err as { code?: string }).code, (err as Error).name]).toEqual(
      expect.arrayContaining([expect.stringMatching(/ECONNRESET|AbortError/)]),
    );
  });

  it('gives @tus/server a Request whose body it can read, and none for GET', async () => {
    const data = randomBytes(300 * KiB);
    const port = await serve((req, res) => {
      const request = nodeRequest(req, res);
      void (async () => {
        const bytes = request.body ? Buffer.from(await new Response(request.body).arrayBuffer()) : Buffer.alloc(0);
        res.end(`${request.method} ${request.headers.get('content-length')} ${bytes.equals(data) ? 'same' : 'differs'}`);
      })();
    });
    expect(await put(port, data)).toBe(`PATCH ${data.length} same`);
    const get = await fetch(`http://127.0.0.1:${port}/`);
    expect(await get.text()).toBe('GET null differs');
  });
});
