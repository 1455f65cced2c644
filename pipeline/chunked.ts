import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { LadderRung, SourceProbe, TranscodeJobData } from '../core/types.ts';
import type { PublishedPart } from '../packager/chunk-publish.ts';
import { planChunks, type Chunk } from '../transcoder/chunks.ts';

/** The queue of chunk jobs: children of the video's transcode job (BullMQ Flows), taken by any worker on any host. */
export const CHUNK_QUEUE = 'transcode-chunk';

/**
 * One child job of a chunked transcode: either the video rungs of one time range, or the "whole" part (the source's
 * audio, encoded once so no seam has an AAC priming gap; each video chunk taps its share of the poster and storyboard
 * frames off its own decode). Any worker on
 * any host may take it: the master comes from pipeline/sources.ts, the output goes straight to the package in storage.
 */
export type ChunkPart = { readonly kind: 'video'; readonly chunk: Chunk } | { readonly kind: 'whole' };

export interface ChunkJobData {
  readonly videoId: string;
  /** Which planning of the parent these results belong to (a parent that restarted plans again). */
  readonly epoch: number;
  /** Video chunks of this epoch (the whole part comes on top), to find the siblings. */
  readonly count: number;
  readonly part: ChunkPart;
  /** The ladder every chunk encodes: planned once by the parent, so no two chunks can disagree. */
  readonly rungs: readonly LadderRung[];
  readonly probe: SourceProbe;
}

export interface ChunkJobResult {
  readonly epoch: number;
  readonly kind: ChunkPart['kind'];
  readonly part: PublishedPart;
}

/** A part's name among its siblings: `whole`, or `c<index>` for a video chunk. */
export type PartKey = 'whole' | `c${number}`;
export const partKey = (part: ChunkPart): PartKey => (part.kind === 'whole' ? 'whole' : `c${part.chunk.index}`);

/** BullMQ job id of a part: the parent's planning epoch keeps a re-planned video's parts apart from the old ones. */
export const chunkJobId = (videoId: string, epoch: number, key: PartKey): string => `${videoId}.${epoch}.${key}`;

export interface ChunkPlanSettings {
  /** Length of every chunk but the last, a multiple of the segment length; 0 turns chunking off. */
  readonly chunkSec: number;
  /** Sources at least this long are chunked; shorter ones are one job, as before. */
  readonly minSourceSec: number;
  /**
   * Chunk only when the chunk workers connected at the time have at least this many job slots between them
   * (chunk-slots.ts); 1 = whenever the source is long enough. Default 2.
   */
  readonly minSlots?: number;
}

/** The chunks of a source, or undefined when it is encoded in one piece. */
export function chunksFor(probe: SourceProbe, s: ChunkPlanSettings): Chunk[] | undefined {
  if (s.chunkSec <= 0 || probe.durationSec < s.minSourceSec) return undefined;
  const chunks = planChunks(probe.durationSec, { chunkSec: s.chunkSec, minSourceSec: s.minSourceSec });
  return chunks.length > 1 ? chunks : undefined;
}

export interface ChildJobOptions {
  readonly attempts: number;
  readonly backoffMs: number;
}

/**
 * Adds every chunk and the whole-source part as children of `parent`, in the order workers should take them (chunk 0
 * and the whole part first: together they make the video previewable). Job ids are derived from the video and
 * the epoch, so adding them again (a parent that stopped half-way through) adds nothing twice.
 */
export async function addChildren(
  queue: Queue<ChunkJobData, ChunkJobResult>,
  parent: Job<TranscodeJobData>,
  c: { readonly epoch: number; readonly probe: SourceProbe; readonly rungs: readonly LadderRung[]; readonly chunks: readonly Chunk[] },
  o: ChildJobOptions,
): Promise<void> {
  const videoId = parent.data.videoId;
  const video = c.chunks.map((chunk): ChunkPart => ({ kind: 'video', chunk }));
  const parts: ChunkPart[] = [...video.slice(0, 1), { kind: 'whole' }, ...video.slice(1)];
  await queue.addBulk(
    parts.map((part) => ({
      name: part.kind,
      data: { videoId, epoch: c.epoch, count: c.chunks.length, part, rungs: c.rungs, probe: c.probe },
      opts: {
        jobId: chunkJobId(videoId, c.epoch, partKey(part)),
        parent: { id: parent.id!, queue: parent.queueQualifiedName },
        // A chunk that fails every attempt fails the video; until then it is retried alone.
        failParentOnFailure: true,
        attempts: o.attempts,
        backoff: { type: 'exponential', delay: o.backoffMs },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    })),
  );
}

/** The results of this epoch's children, chunks in index order. */
export async function childResults(
  parent: Job<TranscodeJobData>,
  epoch: number,
): Promise<{ chunks: PublishedPart[]; whole?: ChunkJobResult }> {
  const values = Object.values(await parent.getChildrenValues<ChunkJobResult>()).filter((v) => v?.epoch === epoch);
  const chunks = values.filter((v) => v.kind === 'video').map((v) => v.part);
  chunks.sort((a, b) => a.index - b.index);
  return { chunks, whole: values.find((v) => v.kind === 'whole') };
}

/**
 * Where each finished part leaves its result for its siblings (preview, progress). A part stores its own result
 * before it looks for the others', so of two parts finishing at the same moment at least one sees both.
 */
export interface PartResults {
  put(data: ChunkJobData, key: PartKey, result: ChunkJobResult): Promise<void>;
  /** The finished parts of `data`'s video and epoch, by key. */
  all(data: ChunkJobData): Promise<Map<PartKey, ChunkJobResult>>;
}

/** How long a part's result stays in Redis for its siblings: longer than any chunked video takes. */
const RESULT_TTL_SEC = 24 * 3600;

/** PartResults in one Redis hash per video and epoch. */
export function redisPartResults(redis: Pick<Redis, 'hset' | 'expire' | 'hgetall'>, prefix: string): PartResults {
  const hash = (d: ChunkJobData): string => `${prefix}:chunk-results:${d.videoId}:${d.epoch}`;
  return {
    put: async (data, key, result) => {
      await redis.hset(hash(data), key, JSON.stringify(result));
      await redis.expire(hash(data), RESULT_TTL_SEC);
    },
    all: async (data) => {
      const raw = await redis.hgetall(hash(data));
      return new Map(Object.entries(raw).map(([k, v]) => [k as PartKey, JSON.parse(v) as ChunkJobResult]));
    },
  };
}
