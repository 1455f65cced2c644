import path from 'node:path';
import type { RenditionRow } from '../db/videos.ts';
import { archiveAndOffload, type ArchiveStepDeps } from './archive-step.ts';
import type { PipelineDeps } from './job.ts';
import { MASTER_NAME, type PackagedRendition } from '../packager/package.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { bucketRef, masterObjectKey } from './sources.ts';

/** Storage prefix of a video's published HLS package. */
export const hlsPrefix = (videoId: string): string => `hls/${videoId}`;

/** A published rendition as the row records it (a one-piece package's, or a stitched one's with its rung's size). */
export type ReadyRendition = Omit<PackagedRendition, 'iFramePlaylist'>;

/** Rows for markReady, playlists under the package prefix. */
export function renditionRows(prefix: string, renditions: readonly ReadyRendition[]): Array<Omit<RenditionRow, 'video_id'>> {
  return renditions.map((r) => ({
    name: r.name,
    kind: r.kind,
    width: r.width,
    height: r.height,
    fps: r.fps,
    codecs: r.codecs,
    bandwidth: r.bandwidth,
    average_bandwidth: r.averageBandwidth,
    playlist_key: `${prefix}/${r.playlist}`,
    size_bytes: r.sizeBytes,
  }));
}

/** With the bucket, the staging copy retention deletes is the master object, not this attempt's temp copy. */
const stagingOf = (d: PipelineDeps, videoId: string, localPath: string): string | undefined =>
  d.sources?.kind === 'bucket' ? bucketRef(masterObjectKey(`${videoId}/${path.basename(localPath)}`)) : undefined;

/** The archive step started beside the transcode: its error is kept for `result()`, never left unhandled. */
export function archiveInBackground(
  archive: ArchiveStepDeps,
  videoId: string,
  master: Promise<{ readonly path: string }>,
  d: PipelineDeps,
  cleared: Promise<void>,
): { settled: Promise<unknown>; result: () => Promise<void> } {
  // `cleared` implies the master is written: its path is known by then.
  const run = cleared
    .then(() => Promise.all([d.videos.get(videoId), master]))
    .then(([v, { path: localPath }]) =>
      archiveAndOffload(archive, { videoId, localPath, title: v?.title ?? videoId, stagingPath: stagingOf(d, videoId, localPath) }),
    );
  const settled = run.then(
    () => undefined,
    (err: unknown) => err,
  );
  return {
    settled,
    result: async () => {
      const err = await settled;
      if (err !== undefined) throw err;
    },
  };
}

/**
 * Output of an earlier attempt (a worker that died mid-publish) is deleted before this attempt publishes anything,
 * the stale master first so no reader follows it to segments that are being deleted. The packager then publishes
 * media before the playlists that name them, and the row only turns ready at the end.
 */
export async function clearPrefix(storage: ObjectStorage, prefix: string): Promise<void> {
  const stale = await storage.list(`${prefix}/`);
  stale.sort((a, b) => Number(b.endsWith(`/${MASTER_NAME}`)) - Number(a.endsWith(`/${MASTER_NAME}`)));
  for (const key of stale) await storage.delete(key);
}
