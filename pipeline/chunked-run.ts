import { WaitingChildrenError, type Job, type Queue } from 'bullmq';
import { PipelineError } from '../core/errors.ts';
import type { stageClock } from '../core/stage-clock.ts';
import type { SourceProbe, TranscodeJobData } from '../core/types.ts';
import { MASTER_NAME } from '../packager/package.ts';
import { stitchPackage } from '../packager/stitch.ts';
import { storageSink } from '../storage/publish.ts';
import { plannedRenditions } from '../transcoder/command.ts';
import { planLadder } from '../transcoder/ladder.ts';
import {
  addChildren,
  childResults,
  chunksFor,
  type ChildJobOptions,
  type ChunkJobData,
  type ChunkJobResult,
  type ChunkPlanSettings,
} from './chunked.ts';
import type { PipelineDeps } from './job.ts';
import { archiveInBackground, clearPrefix, hlsPrefix, renditionRows } from './job-parts.ts';
import { gatherChunkedArtwork } from './chunked-artwork.ts';
import { chunkSlots } from './chunk-slots.ts';
import type { ScanGate } from './scan-gate.ts';

/** What a transcode job needs to split a long source into chunk jobs (ops/worker-root.ts builds it from config). */
export interface ChunkingDeps {
  readonly settings: ChunkPlanSettings;
  readonly children: ChildJobOptions;
  readonly queue: Queue<ChunkJobData, ChunkJobResult>;
  /** Whether a source of this probe is chunked (its length, and the chunk slots the connected workers have). */
  plan(probe: SourceProbe): Promise<boolean>;
}

export function chunkingDeps(
  queue: Queue<ChunkJobData, ChunkJobResult>,
  settings: ChunkPlanSettings,
  children: ChildJobOptions,
): ChunkingDeps {
  const minSlots = settings.minSlots ?? 2;
  const plan = async (probe: SourceProbe): Promise<boolean> => {
    if (chunksFor(probe, settings) === undefined) return false;
    if (minSlots <= 1) return true;
    const slots = await chunkSlots(queue);
    return slots === undefined || slots >= minSlots;
  };
  return { settings, children, queue, plan };
}

interface Timing {
  readonly started: number;
  readonly clock: ReturnType<typeof stageClock>;
}

/**
 * First run of a chunked transcode, after scan, strip and probe: the video becomes one job per chunk plus one for the
 * whole source's audio (pipeline/chunk-job.ts), children of this job in a BullMQ flow, so any worker on
 * any host takes them and a failed chunk is retried alone. They publish straight to storage, so they are added only
 * once the scan cleared the master. This job then waits (it holds no worker slot) and runs again to stitch.
 */
export async function runChunked(
  job: Job<TranscodeJobData>,
  d: PipelineDeps,
  c: ChunkingDeps,
  ctx: Timing & { probe: SourceProbe; sourcePath: string; gate: ScanGate; release: () => Promise<void> },
): Promise<{ masterKey: string }> {
  const { videoId } = job.data;
  await ctx.gate.cleared;
  await clearPrefix(d.storage, hlsPrefix(videoId));
  const epoch = Date.now();
  const chunks = chunksFor(ctx.probe, c.settings) ?? [];
  await job.updateData({ ...job.data, chunked: { epoch, count: chunks.length, probe: ctx.probe, added: false } });
  await addChildren(c.queue, job, { epoch, probe: ctx.probe, rungs: planLadder(ctx.probe), chunks }, c.children);
  await job.updateData({ ...job.data, chunked: { epoch, count: chunks.length, probe: ctx.probe, added: true } });
  d.logger.info({ videoId, chunks: chunks.length, epoch }, 'transcode split into chunk jobs');
  // The archive copy reads this host's master: made now, while the chunks encode (here and elsewhere).
  if (d.archive) await archiveInBackground(d.archive, videoId, Promise.resolve({ path: ctx.sourcePath }), d, Promise.resolve()).result();
  await ctx.release();
  ctx.clock.lap('split');
  return waitOrStitch(job, d, ctx);
}

/** A later run: stitch once every child is done; a parent stopped while adding its children adds the rest first. */
export async function resumeChunked(
  job: Job<TranscodeJobData>,
  d: PipelineDeps,
  c: ChunkingDeps,
  ctx: Timing,
): Promise<{ masterKey: string }> {
  const state = job.data.chunked!;
  if (!state.added) {
    const chunks = chunksFor(state.probe, c.settings) ?? [];
    if (chunks.length !== state.count) throw new PipelineError('PACKAGE_CHUNKS_INCOMPLETE', 'The chunk plan changed between runs.');
    await addChildren(c.queue, job, { epoch: state.epoch, probe: state.probe, rungs: planLadder(state.probe), chunks }, c.children);
    await job.updateData({ ...job.data, chunked: { ...state, added: true } });
  }
  return waitOrStitch(job, d, ctx);
}

async function waitOrStitch(job: Job<TranscodeJobData>, d: PipelineDeps, ctx: Timing): Promise<{ masterKey: string }> {
  if (!d.token) throw new PipelineError('TRANSCODE_FFMPEG_FAILED', 'A chunked transcode needs its job token.');
  // Children still running or waiting: this job steps aside until the last of them is done.
  if (await job.moveToWaitingChildren(d.token)) throw new WaitingChildrenError();
  return stitch(job, d, ctx);
}

/** Playlists from the children's results (no media byte read or rewritten), then ready. */
async function stitch(job: Job<TranscodeJobData>, d: PipelineDeps, ctx: Timing): Promise<{ masterKey: string }> {
  const { videoId } = job.data;
  const state = job.data.chunked!;
  const prefix = hlsPrefix(videoId);
  const masterKey = `${prefix}/${MASTER_NAME}`;
  const { chunks, whole } = await childResults(job, state.epoch);
  const hasAudio = state.probe.audio !== null;
  const rungs = planLadder(state.probe);
  const stitched = await stitchPackage({
    chunks,
    audio: hasAudio ? whole?.part : undefined,
    renditions: plannedRenditions(rungs, hasAudio),
    sink: storageSink(d.storage, prefix),
    chunkCount: state.count,
  });
  ctx.clock.lap('stitch');
  await d.videos.setProgress(videoId, 'package', 100);
  await d.videos.setArtwork(videoId, await gatherChunkedArtwork(d, videoId, state.probe.durationSec));
  ctx.clock.lap('artwork');
  // A cancel (the video deleted) that came while the playlists went out: they must not outlive the video.
  // Recorded and made final by the job's failFinally, like a cancel of a one-piece run.
  if (await d.cancelRequested?.()) {
    await clearPrefix(d.storage, prefix);
    throw new PipelineError('TRANSCODE_CANCELLED', 'Cancelled while the chunks were stitched.');
  }
  const rung = new Map(rungs.map((r) => [r.name, r]));
  const renditions = stitched.renditions.map((r) => ({
    ...r,
    width: rung.get(r.name)?.width ?? null,
    height: rung.get(r.name)?.height ?? null,
    fps: rung.get(r.name)?.fps ?? null,
  }));
  // Also stores the video.ready webhook event, in the same transaction (the outbox relay delivers it).
  await d.videos.markReady(videoId, { hlsPrefix: prefix, masterKey, renditions: renditionRows(prefix, renditions) });
  ctx.clock.lap('ready');
  d.logger.info({ videoId, chunks: state.count, ms: ctx.clock.laps }, 'video ready');
  const wallSec = (performance.now() - ctx.started) / 1000;
  d.metrics?.transcodeSeconds.observe({ outcome: 'ready' }, wallSec);
  return { masterKey };
}
