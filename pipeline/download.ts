import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { remuxToProgressive } from '../media/remux.ts';
import { parseMediaPlaylist } from '../packager/media-playlist.ts';
import type { ObjectStorage } from '../storage/types.ts';

export interface DownloadBuilderOptions {
  readonly storage: ObjectStorage;
  readonly ffmpegPath: string;
  readonly logger: Logger;
  /** Parent of the temp directories the segments are gathered in; default os.tmpdir(). Always emptied. */
  readonly tmpDir?: string;
}

export interface DownloadRequest {
  readonly videoId: string;
  /** Package prefix, e.g. `hls/<id>`. */
  readonly prefix: string;
  /** Video rendition playlist, relative to the prefix (e.g. `v0/index.m3u8`). */
  readonly videoPlaylist: string;
  /** Audio rendition playlist, relative to the prefix; absent for a silent video. */
  readonly audioPlaylist?: string;
  /** Storage key the MP4 is cached under. */
  readonly key: string;
}

/** Segment and init names as the packager writes them: plain names next to their playlist. */
const PLAIN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

async function readText(storage: ObjectStorage, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await storage.get(key)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Init segment then every media segment of one rendition, appended into one local file: a fragmented MP4 is exactly
 * that concatenation (ISO/IEC 23009-1 style segments of one track), which ffmpeg then reads as a single input.
 */
async function gather(storage: ObjectStorage, prefix: string, playlist: string, out: string): Promise<void> {
  const dir = path.posix.dirname(playlist);
  const pl = parseMediaPlaylist(await readText(storage, `${prefix}/${playlist}`));
  const names = [pl.mapUri, ...pl.segments.map((s) => s.uri)];
  if (!pl.mapUri || names.some((n) => !n || !PLAIN_NAME.test(n)) || pl.segments.some((s) => s.byteRange)) {
    throw new PipelineError('PACKAGE_BAD_RENDITION', 'Rendition playlist is not a plain fMP4 playlist.', { file: playlist });
  }
  const file = createWriteStream(out);
  try {
    for (const name of names) {
      const body = await storage.get(`${prefix}/${dir}/${name!}`);
      await pipeline(body, file, { end: false });
    }
  } finally {
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

/**
 * Progressive MP4 downloads made from the published package (never from the master: what is downloaded is what was
 * approved), cached in the package's storage. Concurrent requests for one file share one build.
 */
export class DownloadBuilder {
  private readonly inflight = new Map<string, Promise<number>>();

  constructor(private readonly o: DownloadBuilderOptions) {}

  /** Size in bytes of the cached MP4 under `req.key`, building it first when it is not there. */
  ensure(req: DownloadRequest): Promise<number> {
    const running = this.inflight.get(req.key);
    if (running) return running;
    const p = this.build(req).finally(() => this.inflight.delete(req.key));
    this.inflight.set(req.key, p);
    return p;
  }

  private async build(req: DownloadRequest): Promise<number> {
    const cached = await this.o.storage.head(req.key);
    if (cached) return cached.size;
    const started = Date.now();
    const tmp = await mkdtemp(path.join(this.o.tmpDir ?? os.tmpdir(), 'ks-download-'));
    try {
      const videoFile = path.join(tmp, 'video.mp4');
      const audioFile = req.audioPlaylist ? path.join(tmp, 'audio.mp4') : undefined;
      await gather(this.o.storage, req.prefix, req.videoPlaylist, videoFile);
      if (audioFile && req.audioPlaylist) await gather(this.o.storage, req.prefix, req.audioPlaylist, audioFile);
      const out = path.join(tmp, 'out.mp4');
      await remuxToProgressive({ ffmpegPath: this.o.ffmpegPath, videoFile, audioFile, out });
      const size = (await stat(out)).size;
      await this.o.storage.put(req.key, createReadStream(out), { contentType: 'video/mp4' });
      this.o.logger.info({ videoId: req.videoId, key: req.key, size, ms: Date.now() - started }, 'download built');
      return size;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
