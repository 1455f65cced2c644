import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../api/webhooks/relay.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../../api/webhooks/signature.ts';
import { waitFor } from './app.ts';

export interface WebhookReceiver {
  readonly url: string;
  /** Every delivery so far, in arrival order, with whether its signature verified against `secret`. */
  readonly got: Array<{ event: WebhookEvent; verified: boolean }>;
  /** The first delivered event of `type` about `videoId`. */
  waitForEvent(type: string, videoId: string, timeoutMs?: number): Promise<WebhookEvent>;
  close(): Promise<void>;
}

/** A webhook receiver on a random local port that records every delivery and answers 204. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const got: Array<{ event: WebhookEvent; verified: boolean }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      got.push({
        event: JSON.parse(body) as WebhookEvent,
        verified: verifyWebhook({ secret, header: req.headers[SIGNATURE_HEADER] as string, body }),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    waitForEvent: (type, videoId, timeoutMs = 90_000) =>
      waitFor(async () => got.find((g) => g.event.type === type && g.event.data['videoId'] === videoId)?.event, {
        timeoutMs,
        what: `${type} of ${videoId} delivered`,
      }),
    close: () => (closing ??= new Promise((r) => server.close(() => r()))),
  };
}
