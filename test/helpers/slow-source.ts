import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MediaInput } from '../../media/allow-list.ts';

const run = promisify(execFile);

export interface SlowSource {
  /** The FIFO as the media layer's vetted input (MPEG-TS). */
  readonly input: MediaInput;
  close(): Promise<void>;
}

/**
 * Feeds `file` (MPEG-TS, which reads front to back) into a named pipe at a steady pace spread over `seconds`, like a
 * source arriving slowly: ffmpeg can only transcode what has arrived. A FIFO, not HTTP: the media layer lets ffmpeg
 * open local files only. The pipe has one reader, so the caller must not probe it (probe the file instead).
 */
export async function feedSlowly(file: string, seconds: number): Promise<SlowSource> {
  const data = await readFile(file);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-fifo-'));
  const fifo = path.join(dir, 'source.ts');
  await run('mkfifo', [fifo]);
  const steps = Math.max(1, Math.round(seconds * 5));
  let closed = false;
  // Opening a FIFO for writing blocks until a reader opens it; the write loop runs in the background.
  const writing = (async () => {
    const fh = await open(fifo, 'w');
    try {
      for (let i = 0; i < steps && !closed; i++) {
        await fh.write(data.subarray(Math.floor((i * data.length) / steps), Math.floor(((i + 1) * data.length) / steps)));
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await fh.close();
    }
  })().catch(() => undefined); // EPIPE when ffmpeg was killed mid-read: the reader is gone, nothing left to feed.
  let closing: Promise<void> | undefined;
  return {
    input: { path: fifo, demuxer: 'mpegts' },
    close: () => {
      closing ??= (async () => {
        closed = true;
        // A writer still blocked in open() needs a reader to come and go before it can finish.
        const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
        await writing;
        await reader?.close();
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
