import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Sql } from '../../db/client.ts';
import { VideoRepository } from '../../db/videos.ts';
import type { ObjectStorage } from '../../storage/types.ts';

export interface SeedOptions {
  readonly uploaderId: string | null;
  /** 'ready' publishes a small package; default 'ready'. */
  readonly status?: 'ready' | 'processing';
  readonly title?: string;
}

/**
 * A master with every URI-bearing tag the packager can emit (variant, EXT-X-MEDIA audio, I-frame playlist) and
 * media playlists with EXT-X-MAP, so the rewriter and the signed route are exercised on all of them.
 */
export const MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="main",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,AUDIO="aud"
v0/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e",RESOLUTION=640x360,URI="v0/iframes.m3u8"
`;
const media = (dir: string): string => `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.0,
seg_000.m4s
#EXTINF:1.0,
seg_001.m4s
#EXT-X-ENDLIST
# ${dir}
`;

export const PACKAGE_FILES: Readonly<Record<string, string>> = {
  'master.m3u8': MASTER,
  'v0/index.m3u8': media('v0'),
  'v0/iframes.m3u8': media('v0 iframes'),
  'audio/index.m3u8': media('audio'),
  'v0/init.mp4': 'init-bytes',
  'v0/seg_000.m4s': 'segment-0-bytes',
  'v0/seg_001.m4s': 'segment-1-bytes',
  'audio/init.mp4': 'audio-init',
  'audio/seg_000.m4s': 'audio-seg-0',
  'audio/seg_001.m4s': 'audio-seg-1',
  'poster.jpg': 'jpeg-bytes',
};

export async function writePackage(storage: ObjectStorage, videoId: string): Promise<void> {
  for (const [rel, body] of Object.entries(PACKAGE_FILES)) await storage.put(`hls/${videoId}/${rel}`, Readable.from([Buffer.from(body)]));
}

/** Inserts a video through the repository the pipeline uses, and (for ready) publishes a package for it. */
export async function seedVideo(sql: Sql, storage: ObjectStorage, o: SeedOptions): Promise<string> {
  const repo = new VideoRepository(sql);
  const v = await repo.createFromUpload({
    uploadId: randomUUID(),
    title: o.title ?? 'Seeded',
    description: '',
    originalFilename: 'x.mp4',
    uploaderId: o.uploaderId,
    sourceKey: randomUUID().replace(/-/g, ''),
    sourceSizeBytes: 1234,
  });
  if ((o.status ?? 'ready') === 'processing') {
    await repo.markProcessing(v.id, 'transcode');
    await repo.setProgress(v.id, 'transcode', 42);
    return v.id;
  }
  await writePackage(storage, v.id);
  await repo.markReady(v.id, {
    hlsPrefix: `hls/${v.id}`,
    masterKey: `hls/${v.id}/master.m3u8`,
    renditions: [
      {
        name: 'v0',
        kind: 'video',
        width: 640,
        height: 360,
        fps: 30,
        codecs: 'avc1.64001e',
        bandwidth: 500000,
        average_bandwidth: 400000,
        playlist_key: `hls/${v.id}/v0/index.m3u8`,
        size_bytes: 100,
      },
    ],
  });
  await repo.setArtwork(v.id, { posterKey: `hls/${v.id}/poster.jpg`, storyboardKey: null, posters: [] });
  return v.id;
}
