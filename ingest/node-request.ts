import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import { NodeRequest } from 'srvx/node';

/**
 * Body bytes a request may gather in memory while the disk writer is busy before its socket is paused. Per request,
 * so memory stays flat whatever the upload's size; several socket reads (up to 64 KiB each), so one write to the file
 * carries what arrived during the previous one.
 */
export const BODY_BATCH_BYTES = 256 * 1024;

/**
 * The web Request @tus/server reads, for a Node request: srvx's NodeRequest (headers, URL, `runtime.node`, which
 * @tus/server watches for client disconnects) with a cheaper body. srvx builds the body with Node 20's
 * Readable.toWeb, which copies every chunk into a new Uint8Array and pauses the socket as soon as more than 16 KiB
 * wait (the request's highWaterMark), i.e. after every socket read: that body path took about a third longer than a
 * plain pipeline(req, file) on the 2-vCPU dev VM. @tus/server turns the body back into a Node stream
 * (Readable.fromWeb) before the store sees it.
 */
export function nodeRequest(req: IncomingMessage, res: ServerResponse, batchBytes = BODY_BATCH_BYTES): Request {
  const request = new NodeRequest({ req, res });
  if (req.method === 'GET' || req.method === 'HEAD') return request;
  let body: ReadableStream<Uint8Array> | undefined;
  // Lazy like srvx's: a request answered before its body is read (409, 413…) never starts the body flowing here.
  Object.defineProperty(request, 'body', { configurable: true, enumerable: true, get: () => (body ??= bodyStream(req, batchBytes)) });
  return request;
}

/**
 * `req`'s bytes as a web stream. Chunks come off the socket 64 KiB at a time; those that arrive while the reader is
 * busy (a write to the file in flight) are handed over together as one chunk when it asks again, so the stages
 * between here and the file (Readable.fromWeb, @tus/server's proxy and size limiter, the file stream) run once per
 * batch instead of once per socket read. A reader that waits gets the next chunk at once: nothing is held back for a
 * slow client. Once `maxBatchBytes` wait, the socket is paused until the reader asks. A connection that breaks off
 * errors the stream with the request's error (a premature close as an AbortError, as Readable.toWeb does), which
 * @tus/server turns into its ABORTED error.
 */
export function bodyStream(req: IncomingMessage, maxBatchBytes: number): ReadableStream<Uint8Array> {
  let batch: Buffer[] = [];
  let batchBytes = 0;
  /** The reader asked and got nothing yet. */
  let waiting = false;
  /** Closed, errored or cancelled. */
  let settled = false;
  let controller: ReadableStreamDefaultController<Uint8Array>;
  const deliver = (): void => {
    // A lone chunk goes as it is; several are copied once, which costs less than moving each through every stage.
    controller.enqueue(batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchBytes));
    batch = [];
    batchBytes = 0;
    waiting = false;
  };
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        req.pause();
        req.on('data', (chunk: Buffer) => {
          if (settled) return;
          batch.push(chunk);
          batchBytes += chunk.length;
          if (waiting) deliver();
          else if (batchBytes >= maxBatchBytes) req.pause();
        });
        // finished() keeps its 'error' listener afterwards: a late socket error must not become an uncaught one.
        finished(req, (err) => {
          if (settled) return;
          settled = true;
          if (err) {
            const premature = (err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
            controller.error(premature ? new DOMException('The client closed the connection.', 'AbortError') : err);
            return;
          }
          if (batchBytes > 0) deliver();
          controller.close();
        });
      },
      pull() {
        if (batchBytes > 0) deliver();
        else waiting = true;
        req.resume();
      },
      cancel(reason) {
        settled = true;
        batch = [];
        req.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    // Nothing queued inside the web stream itself: the batch above is the only buffer, and pull() runs only while
    // the reader waits.
    { highWaterMark: 0 },
  );
}
