import path from 'node:path';
import { describeError } from '../core/errors.ts';
import { stageClock } from '../core/stage-clock.ts';
import type { LadderRung, SourceProbe } from '../core/types.ts';
import type { PosterRow } from '../db/videos.ts';
import type { MediaInput } from '../media/allow-list.ts';
import { artworkStills, planArtwork, writeArtwork, type ArtworkPlan } from '../packager/artwork.ts';
import { EarlyPosters } from '../packager/early-posters.ts';
import type { PosterResult } from '../packager/posters.ts';
import { MASTER_NAME, type PackageResult } from '../packager/package.ts';
import { ProgressivePackager, type PackageSink } from '../packager/progressive.ts';
import { validatePackage, type Violation } from '../packager/validate.ts';
import { storageSink } from '../storage/publish.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { plannedRenditions } from '../transcoder/command.ts';
import { planLadder } from '../transcoder/ladder.ts';
import type { FfmpegPool } from '../transcoder/pool.ts';
import type { Logger } from '../core/logger.ts';
import { transcodeLadder } from '../transcoder/transcode.ts';
import type { WatermarkOptions } from '../transcoder/watermark.ts';

export interface PackagedTranscodeOptions {
  readonly ffmpegPath: string;
  /** Needed for the quick-path keyframe check. */
  readonly ffprobePath: string;
  /** Run ffmpeg on this worker-thread pool; default: supervised from the calling thread. */
  readonly pool?: FfmpegPool;
  /** Allow stream-copying the top rung when the source already fits it; default true. */
  readonly allowRemux?: boolean;
  /** The stripped master as the media layer vetted it. */
  readonly source: MediaInput;
  readonly probe: SourceProbe;
  /** Empty work directory; the caller removes it. */
  readonly workDir: string;
  readonly storage: ObjectStorage;
  /** Storage prefix of the package (e.g. hls/<videoId>). */
  readonly prefix: string;
  readonly logger: Logger;
  readonly threads?: number;
  /** Niceness of ffmpeg (FFMPEG_NICE); default 0. */
  readonly niceness?: number;
  readonly preset?: string;
  /** Overlay burned into every rung; default none. */
  readonly watermark?: WatermarkOptions;
  readonly onProgress?: (percent: number) => void;
  /** Called once when the EVENT master and every rung's first segment are in storage. */
  readonly onPlayable?: () => void | Promise<void>;
  /** Override the planned ladder (benchmarks). */
  readonly rungs?: readonly LadderRung[];
  /** How often the packager reads ffmpeg's playlists; default 100 ms. */
  readonly pollIntervalMs?: number;
  /** Aborting stops ffmpeg (SIGTERM, then SIGKILL) and rejects with TRANSCODE_CANCELLED. */
  readonly signal?: AbortSignal;
  /** Every write to storage waits for this (the scan verdict); a rejection fails the write. Default: none. */
  readonly publishGate?: Promise<void>;
  /** Skip posters and storyboard, and the frames the ladder would write for them (benchmarks); default false. */
  readonly skipArtwork?: boolean;
}

export interface Artwork {
  readonly posterKey: string | null;
  readonly storyboardKey: string | null;
  readonly posters: PosterRow[];
}

export interface PackagedTranscodeResult {
  readonly masterKey: string;
  readonly pkg: PackageResult;
  readonly artwork: Artwork;
  /** Spec violations of the finished package (logged; an empty list is the norm). */
  readonly violations: readonly Violation[];
  /** Milliseconds per step: the ffmpeg run, the VOD switch, validation, artwork. */
  readonly timings: Readonly<Record<string, number>>;
}

export const NO_ARTWORK: Artwork = { posterKey: null, storyboardKey: null, posters: [] };

/**
 * Posters and storyboard from the frames the ladder's ffmpeg run already wrote (no decode of their own), published
 * images first and the VTT that points at the sprite last. They are extras: a failure is logged and the video still
 * gets published without them.
 */
export async function publishArtwork(
  o: Pick<PackagedTranscodeOptions, 'workDir' | 'prefix' | 'logger'>,
  sink: PackageSink,
  plan: ArtworkPlan,
  earlyPosters?: Promise<PosterResult>,
): Promise<Artwork> {
  const started = performance.now();
  try {
    const { posters, storyboard } = await writeArtwork(plan, o.workDir, earlyPosters);
    const put = (rel: string): Promise<void> => sink.putFile(rel, path.join(o.workDir, rel));
    // allSettled: a failed upload does not return while the others still read the work dir the caller removes.
    const images = await Promise.allSettled([...posters.images.map((i) => i.file), storyboard.spriteFile].map(put));
    const failed = images.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await put(storyboard.vttFile);
    const rows = posters.images.map((i): PosterRow => ({
      key: `${o.prefix}/${i.file}`,
      width: i.width,
      height: i.height,
      format: i.format,
    }));
    const main = rows.find((r) => r.format === 'jpeg' && r.width === 640) ?? rows.find((r) => r.format === 'jpeg') ?? null;
    const ms = Math.round(performance.now() - started);
    o.logger.info(
      { ms, posterAtSec: posters.timeSec, tiles: storyboard.tiles, postersDuringEncode: earlyPosters !== undefined },
      'posters and storyboard published',
    );
    return { posterKey: main?.key ?? null, storyboardKey: `${o.prefix}/${storyboard.vttFile}`, posters: rows };
  } catch (err) {
    o.logger.warn({ err: describeError(err) }, 'posters/storyboard failed; publishing without them');
    return NO_ARTWORK;
  }
}

/** A sink whose writes wait for `gate` first. */
function gatedSink(sink: PackageSink, gate: Promise<void> | undefined): PackageSink {
  if (!gate) return sink;
  return {
    putFile: async (rel, file) => {
      await gate;
      await sink.putFile(rel, file);
    },
    putText: async (rel, text) => {
      await gate;
      await sink.putText(rel, text);
    },
  };
}

/**
 * Transcode + package with progressive publishing: segments reach storage while ffmpeg runs (EVENT playlists), the
 * package is switched to VOD with a measured master when ffmpeg is done, then posters and storyboard are published.
 * ffmpeg runs once: the frames for the artwork come from the ladder's own decode.
 */
export async function transcodeAndPackage(o: PackagedTranscodeOptions): Promise<PackagedTranscodeResult> {
  const rungs = o.rungs ?? planLadder(o.probe);
  const renditions = plannedRenditions(rungs, o.probe.audio !== null);
  const sink = gatedSink(storageSink(o.storage, o.prefix), o.publishGate);
  const artworkPlan = o.skipArtwork ? undefined : planArtwork(o.workDir, o.probe.durationSec);
  const packager = new ProgressivePackager({
    workDir: o.workDir,
    renditions,
    sink,
    logger: o.logger,
    pollIntervalMs: o.pollIntervalMs,
    onPlayable: o.onPlayable,
    // One GOP per ffmpeg file, joined by the packager: the first segment (previewable, a player's first fetch) is the
    // 1 s first GOP.
    pieces: true,
  });
  const posters = artworkPlan ? new EarlyPosters(artworkPlan, o.workDir) : undefined;
  const clock = stageClock();
  packager.start();
  posters?.start();
  let encoded = false;
  try {
    await transcodeLadder({
      ffmpegPath: o.ffmpegPath,
      ffprobePath: o.ffprobePath,
      source: o.source,
      probe: o.probe,
      outDir: o.workDir,
      logger: o.logger,
      threads: o.threads,
      niceness: o.niceness,
      preset: o.preset,
      watermark: o.watermark,
      onProgress: o.onProgress,
      rungs,
      signal: o.signal,
      pool: o.pool,
      allowRemux: o.allowRemux,
      stills: artworkPlan ? artworkStills(artworkPlan) : undefined,
      pieces: true,
    });
    encoded = true;
  } finally {
    // After a failure the caller removes the work dir, so nothing may still write into it. After success the poster
    // job (it starts once the last candidate frame is out, at 85 % of the encode) goes on beside the VOD switch: on a
    // short clip ffmpeg exited before it, and `ready` waited for its tail; the artwork step waits for it instead.
    await Promise.all([packager.stop(), encoded ? posters?.stopWatching() : posters?.stop()]);
  }
  clock.lap('ffmpeg');
  // The artwork (sharp on the stills ffmpeg already wrote, published under its own names) touches none of the
  // package's files, so it runs beside the VOD switch and the validation instead of after them: on a short clip it
  // was a third of what `ready` waited for once ffmpeg had exited. It reports its own failure (NO_ARTWORK).
  const artworkJob = (artworkPlan ? publishArtwork(o, sink, artworkPlan, posters?.posters) : Promise.resolve(NO_ARTWORK)).finally(() =>
    posters?.stop(),
  );
  let pkg: PackageResult;
  let violations: readonly Violation[];
  try {
    pkg = await packager.finish();
    clock.lap('vodSwitch');
    // Validation reads the playlists from disk and the segments from the packager's index.
    violations = await validatePackage(o.workDir, { known: packager.known });
  } catch (err) {
    await artworkJob; // the caller removes the work dir the artwork reads
    throw err;
  }
  const artwork = await artworkJob;
  if (violations.length > 0) o.logger.warn({ violations }, 'package violates HLS rules');
  clock.lap('validateAndArtwork');
  const timings = Object.fromEntries(Object.entries(clock.laps).filter(([k]) => k !== 'total'));
  return { masterKey: `${o.prefix}/${MASTER_NAME}`, pkg, artwork, violations, timings };
}
