/**
 * Child-process server for the ingest benchmark, so the parent can read this process's peak RSS from /proc.
 *   node --import tsx bench/ingest-server.ts --mode tus|raw --dir <upload dir>
 * Prints one JSON line `{"port":N,"token":…}` on stdout once listening; exits on SIGTERM.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { TusIngest } from '../ingest/tus.ts';
import { UploadTokens } from '../ingest/upload-token.ts';

const { values } = parseArgs({ options: { mode: { type: 'string' }, dir: { type: 'string' } } });
const dir = values.dir;
if (!dir || (values.mode !== 'tus' && values.mode !== 'raw')) throw new Error('usage: ingest-server.ts --mode tus|raw --dir <dir>');

/** Issues the benchmark client's upload token (printed with the port); the real endpoint requires one. */
const tokens = new UploadTokens({ secret: randomBytes(32).toString('hex'), ttlSec: 24 * 3600 });

function tusHandler(uploadDir: string): http.RequestListener {
  // The real ingest endpoint (tokens, checksum, concatenation); onFinished stands in for the DB + queue hook.
  const tus = new TusIngest({
    uploadDir,
    path: '/uploads',
    maxSize: 64 * 1024 ** 3,
    tokens,
    expirationMs: 24 * 3600_000,
    logger: pino({ level: 'silent' }),
    onFinished: async (u) => ({ videoId: u.id, created: true }),
  });
  return (req, res) => {
    tus.handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  };
}

/** The floor: a plain streamed PUT to a file, nothing else. */
function rawHandler(uploadDir: string): http.RequestListener {
  return (req, res) => {
    const file = path.join(uploadDir, path.basename(req.url ?? 'upload'));
    pipeline(req, createWriteStream(file)).then(
      async () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: (await stat(file)).size })),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  };
}

const server = http.createServer(values.mode === 'tus' ? tusHandler(dir) : rawHandler(dir));
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ port, token: tokens.issue().token })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
