import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteQueueKeys } from '../../test/helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { TEST_JWT_SECRET, TEST_PLAYBACK_KEY } from '../../test/helpers/auth.ts';
import { TEST_REDIS_URL } from '../../test/helpers/env.ts';
import { fetchUploadToken } from '../../test/helpers/tus-upload.ts';
import { videoLikeBytes, fileSha256, runUpload, sha256 } from '../../test/helpers/tus-helpers.ts';

const SCRIPT = fileURLToPath(new URL('../../test/helpers/server-process.ts', import.meta.url));

interface ServerProc {
  readonly child: ChildProcess;
  readonly url: string;
}

function startServer(env: Record<string, string>): Promise<ServerProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}

const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));

describe('server SIGKILLed mid-upload', () => {
  let db: TestDatabase;
  let dataDir: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ks-restart-'));
    env = {
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: `ksr${randomBytes(4).toString('hex')}`,
      LOG_LEVEL: 'warn',
      UPLOAD_TOKEN_SECRET: randomBytes(32).toString('hex'),
      JWT_SECRET: TEST_JWT_SECRET,
      PLAYBACK_SIGNING_KEY: TEST_PLAYBACK_KEY,
    };
  });
  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited(c);
    }
    await deleteQueueKeys(env['REDIS_URL']!, env['QUEUE_PREFIX']!);
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes after a restart on the same data dir and port; the stored file equals the original', async () => {
    const first = await startServer(env);
    children.push(first.child);
    const endpoint = `${first.url}/uploads`;
    const token = await fetchUploadToken(first.url);
    const data = videoLikeBytes(3 * 1024 * 1024 + 4321);
    const headers = { 'Upload-Token': token };
    const meta = { title: 'crash test', filename: 'crash.mp4' };
    const cut = Math.floor((0.3 + Math.random() * 0.4) * data.length);
    // Kill -9 the server while a PATCH is streaming (tus-js-client reports progress within a chunk), as a crash would.
    const killed = exited(first.child);
    const uploadUrl = await new Promise<string>((resolve, reject) => {
      const up = new tus.Upload(data, {
        endpoint,
        headers,
        metadata: meta,
        chunkSize: 512 * 1024,
        retryDelays: [],
        onProgress: (sent) => {
          if (sent >= cut && first.child.signalCode === null) first.child.kill('SIGKILL');
        },
        onError: () => (up.url ? resolve(up.url) : reject(new Error('no upload URL before the kill'))),
        onSuccess: () => reject(new Error('upload finished before the kill')),
      });
      up.start();
    });
    await killed;
    expect(first.child.signalCode).toBe('SIGKILL');

    const port = new URL(first.url).port;
    const second = await startServer({ ...env, PORT: port });
    children.push(second.child);
    expect(second.url).toBe(first.url);
    const head = await fetch(uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(data.length);
    const done = await runUpload(data, { endpoint, uploadUrl, headers, metadata: meta, chunkSize: 512 * 1024 });
    expect(done.videoId).toMatch(/^[0-9a-f-]{36}$/);
    const id = new URL(done.url).pathname.split('/').pop()!;
    expect(await fileSha256(path.join(dataDir, 'uploads', id))).toBe(sha256(data));
    second.child.kill('SIGTERM');
    await exited(second.child);
  });
});
