import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Sql } from '../../db/client.ts';
import { VideoRepository } from '../../db/videos.ts';
import { mediaInput } from '../../media/allow-list.ts';
import { renditionRows } from '../../pipeline/job-parts.ts';
import { transcodeAndPackage } from '../../pipeline/package-stage.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { probeSource } from '../../transcoder/probe.ts';
import { makeClip } from './media.ts';

export interface PlayableOptions {
  readonly uploaderId: string;
  /** Clip length; default 2.5 s. */
  readonly durationSec?: number;
  readonly title?: string;
}

/** Two tiny rungs: enough for a quality menu, cheap enough for a test (a few hundred ms of x264 each). */
const RUNGS = [
  { name: 'v0', width: 320, height: 180, fps: 30, videoBitrate: 300_000, maxBitrate: 450_000 },
  { name: 'v1', width: 192, height: 108, fps: 30, videoBitrate: 150_000, maxBitrate: 225_000 },
] as const;

/**
 * A ready video with a real package (the project's own transcoder and packager, into `storage`), for tests that play
 * or remux it. Returns the video id; the row is ready and pending moderation, with its probed duration.
 */
export async function seedPlayableVideo(sql: Sql, storage: ObjectStorage, o: PlayableOptions): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-playable-'));
  try {
    const clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: o.durationSec ?? 2.5, width: 320, height: 180 });
    const probe = await probeSource(clip, { ffprobePath: 'ffprobe' });
    const repo = new VideoRepository(sql);
    const v = await repo.createFromUpload({
      uploadId: randomUUID(),
      title: o.title ?? 'Playable',
      description: '',
      originalFilename: 'clip.mp4',
      uploaderId: o.uploaderId,
      sourceKey: randomUUID().replace(/-/g, ''),
      sourceSizeBytes: 1,
    });
    await repo.markProcessing(v.id, 'transcode', probe);
    const prefix = `hls/${v.id}`;
    const res = await transcodeAndPackage({
      ffmpegPath: 'ffmpeg',
      ffprobePath: 'ffprobe',
      source: mediaInput(clip, probe.container),
      probe,
      workDir: await mkdtemp(path.join(tmp, 'work-')),
      storage,
      prefix,
      logger: pino({ level: 'silent' }),
      threads: 2,
      preset: 'ultrafast',
      rungs: RUNGS,
      skipArtwork: true,
    });
    await repo.markReady(v.id, { hlsPrefix: prefix, masterKey: res.masterKey, renditions: renditionRows(prefix, res.pkg.renditions) });
    return v.id;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
