import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PipelineError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { mapLimit } from '../core/map-limit.ts';
import { startPoller, type Poller, type PollReason } from '../core/poller.ts';
import { AUDIO_BITRATE, PIECES_DIR, SEGMENT_SECONDS } from '../transcoder/command.ts';
import type { TrackDefaults } from './boxes.ts';
import { codecOfInitFile } from './codecs.ts';
import { renderMasterPlaylist, type MasterVariant } from './master.ts';
import { parseMediaPlaylist, renderMediaPlaylist, type MediaSegmentEntry } from './media-playlist.ts';
import type { SegmentIndex } from './iframes.ts';
import {
  defaultAudio,
  MASTER_NAME,
  PLAYLIST_NAME,
  writeFileAtomic,
  writeMaster,
  type PackageIndex,
  type PackageResult,
  type RenditionInput,
} from './package.ts';
import { groupPieces } from './pieces.ts';
import { joinSegment, prepareInit, rewriteSegment } from './segment-rewrite.ts';

/**
 * Where a package is published. The packager knows nothing about object storage; ops adapts storage to this.
 * Both calls must be atomic for readers: a reader sees nothing or the whole file.
 */
export interface PackageSink {
  /** Copies a finished local file to `rel` (a path relative to the package root). */
  putFile(rel: string, localFile: string): Promise<void>;
  /** Writes a small text file (a playlist) to `rel`. */
  putText(rel: string, text: string): Promise<void>;
}

/** Uploads in flight per rendition and per wave: enough to hide object-storage latency, few enough for one host. */
const PUBLISH_CONCURRENCY = 6;

export interface ProgressivePackagerOptions {
  /** The transcoder's output directory (one sub-directory per rendition). */
  readonly workDir: string;
  readonly renditions: readonly RenditionInput[];
  readonly sink: PackageSink;
  readonly logger: Logger;
  /**
   * How often every rendition's playlist is read regardless of change notices; default 1000 ms while the rendition
   * directories are watched, 100 ms when they cannot be (on a short clip the first segment's wait for the next poll
   * was a tenth of the time to previewable). A notice (ffmpeg renamed a playlist into place) reads that rendition at
   * once: reading five playlists ten times a second cost about 1 ms of CPU a poll, 0.36 s of the 2.4 s of Node CPU
   * a 2-minute 720p encode took, taken from the encode on a small box.
   */
  readonly pollIntervalMs?: number;
  /** Called once, when the master and the first segment of every rendition are published. */
  readonly onPlayable?: () => void | Promise<void>;
  /**
   * ffmpeg writes one file per GOP under each rendition's PIECES_DIR (command.ts `pieces`): publish segments joined
   * from them (pieces.ts), the first a single (short) GOP. Default false: publish ffmpeg's segments as they are.
   */
  readonly pieces?: boolean;
}

/** A segment to publish: one of ffmpeg's, or one joined from the pieces it names. */
interface PlannedSegment extends MediaSegmentEntry {
  readonly pieces?: readonly string[];
}

interface RenditionState {
  readonly input: RenditionInput;
  readonly published: MediaSegmentEntry[];
  mapUri: string | undefined;
  defaults: TrackDefaults | undefined;
  /** Ticks added to every decode time, so the edit list could be dropped (timeline.ts). */
  shift: number;
  /** Segments already rewritten in place: a publish retried after a failed upload must not shift them twice. */
  readonly rewritten: Set<string>;
}

/**
 * Publishes a ladder while ffmpeg is still writing it. ffmpeg (EVENT playlists, temp_file) lists a segment only after
 * renaming it into place, so every segment in its playlist is complete; we copy those to the sink and then write our
 * own EVENT playlist naming only segments already copied. The master follows once every rendition has its init and
 * first segment. finish() turns the package into VOD: measured master, I-frame playlists, ENDLIST.
 */
export class ProgressivePackager {
  private readonly o: ProgressivePackagerOptions;
  private readonly states: RenditionState[];
  private readonly publishedFiles = new Set<string>();
  /** Every video segment as it was published, indexed while its bytes were in hand (see iframes.ts SegmentIndex). */
  private readonly segmentIndex = new Map<string, SegmentIndex>();
  private poller: Poller | undefined;
  private watchers: FSWatcher[] = [];
  /** Renditions whose directory changed since their last read (filled by the watchers). */
  private readonly changed = new Set<RenditionState>();
  private masterPublished = false;
  private lastError: unknown;

  constructor(o: ProgressivePackagerOptions) {
    this.o = o;
    this.states = o.renditions.map((input) => ({
      input,
      published: [],
      mapUri: undefined,
      defaults: undefined,
      shift: 0,
      rewritten: new Set<string>(),
    }));
  }

  /** True once the EVENT master is published (or the final one). */
  get playable(): boolean {
    return this.masterPublished;
  }

  /** Starts watching and polling the work dir. */
  start(): void {
    const watching = this.watch();
    this.poller = startPoller(
      (reason) =>
        this.pollFor(reason).catch((err: unknown) => {
          // A failed poll is retried on the next tick; finish() reports the error if it persists.
          this.lastError = err;
          this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'progressive publish failed');
        }),
      this.o.pollIntervalMs ?? (watching ? 1000 : 100),
    );
  }

  /**
   * Watches each rendition's directory for ffmpeg's playlist being written (it renames a temp file into place, so a
   * notice means a whole new listing). The directories are made here, before ffmpeg starts, so the watch covers its
   * first segment. False when a directory cannot be watched (no inotify watches left, a filesystem without notices):
   * then polling alone finds the segments, as fast as before.
   */
  private watch(): boolean {
    try {
      for (const s of this.states) {
        const dir = path.join(this.o.workDir, s.input.dir);
        mkdirSync(dir, { recursive: true });
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name !== null && !String(name).startsWith(PLAYLIST_NAME)) return;
          this.changed.add(s);
          this.poller?.kick();
        });
        // A watcher that breaks later leaves the timer's polls, which read every rendition.
        w.on('error', () => w.close());
        this.watchers.push(w);
      }
      return true;
    } catch (err) {
      this.closeWatchers();
      this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot watch the work dir; polling it');
      return false;
    }
  }

  private closeWatchers(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** A tick reads every rendition; a kick only those whose playlist changed. */
  private async pollFor(reason: PollReason): Promise<void> {
    if (reason === 'tick') return this.poll();
    const changed = [...this.changed];
    this.changed.clear();
    try {
      await this.pollRenditions(changed);
    } catch (err) {
      // Not lost: the next notice or tick reads them again.
      for (const s of changed) this.changed.add(s);
      throw err;
    }
  }

  /** Stops polling; waits for an in-flight poll. Idempotent. */
  async stop(): Promise<void> {
    this.closeWatchers();
    await this.poller?.stop();
  }

  /**
   * One pass: publish newly listed segments, then the growing playlists, then (once) the master. `final` once ffmpeg
   * exited: a last segment joined from fewer pieces than the others is published too.
   */
  poll(final = false): Promise<void> {
    return this.pollRenditions(this.states, final);
  }

  private async pollRenditions(only: readonly RenditionState[], final = false): Promise<void> {
    // Renditions publish side by side (each keeps its own order: segments, then its playlist).
    const grew = (await Promise.all(only.map((s) => this.pollRendition(s, final)))).some(Boolean);
    if (grew && !this.masterPublished && this.states.every((s) => s.published.length > 0)) {
      await this.o.sink.putText(MASTER_NAME, await this.eventMaster());
      this.masterPublished = true;
      this.lastError = undefined;
      await this.o.onPlayable?.();
    }
  }

  private async pollRendition(s: RenditionState, final: boolean): Promise<boolean> {
    const dir = path.join(this.o.workDir, s.input.dir);
    const text = await readFile(path.join(dir, PLAYLIST_NAME), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // ffmpeg has not finished the first segment yet
      throw err;
    });
    if (text === undefined) return false;
    const pl = parseMediaPlaylist(text);
    const planned: readonly PlannedSegment[] = this.o.pieces ? groupPieces(pl.segments, SEGMENT_SECONDS, final) : pl.segments;
    // A published segment is final: a listing that would regroup one is a bug to stop on, never to publish over.
    for (const [i, seg] of s.published.entries()) {
      if (planned[i]?.uri !== seg.uri || planned[i]?.duration !== seg.duration)
        throw new PipelineError('PACKAGE_BAD_RENDITION', `${s.input.name}: ${seg.uri} changed after it was published.`, {
          rendition: s.input.name,
          segment: seg.uri,
        });
    }
    const fresh = planned.slice(s.published.length);
    if (fresh.length === 0 || !pl.mapUri) return false;
    if (!s.mapUri) {
      const initFile = path.join(dir, pl.mapUri);
      const prepared = await prepareInit(initFile, this.o.logger, s.input.name);
      s.shift = prepared.shift;
      s.defaults = prepared.defaults;
      await this.putFile(`${s.input.dir}/${pl.mapUri}`, initFile);
      s.mapUri = pl.mapUri;
    }
    await mapLimit(fresh, PUBLISH_CONCURRENCY, async (seg) => {
      if (!s.rewritten.has(seg.uri)) {
        const video = s.input.kind === 'video' ? s.defaults : undefined;
        const file = path.join(dir, seg.uri);
        const index = seg.pieces
          ? await joinSegment(
              file,
              seg.pieces.map((p) => path.join(dir, PIECES_DIR, p)),
              s.shift,
              video,
            )
          : await rewriteSegment(file, s.shift, video);
        if (index) this.segmentIndex.set(`${s.input.dir}/${seg.uri}`, index);
        s.rewritten.add(seg.uri);
      }
      await this.putFile(`${s.input.dir}/${seg.uri}`, path.join(dir, seg.uri));
      // The joined segment holds every byte of its pieces: keeping both would double the work dir's size.
      if (seg.pieces) await Promise.all(seg.pieces.map((p) => rm(path.join(dir, PIECES_DIR, p), { force: true })));
    });
    // Listed only once all of them are stored (a failure above leaves them unlisted, to be retried on the next poll).
    s.published.push(...fresh.map((seg) => ({ uri: seg.uri, duration: seg.duration })));
    // Segments first, playlist after: the playlist never names a segment the sink does not hold whole.
    const playlist = renderMediaPlaylist({
      mapUri: s.mapUri,
      segments: s.published,
      type: 'EVENT',
      endList: false,
      targetDuration: SEGMENT_SECONDS,
    });
    await this.o.sink.putText(`${s.input.dir}/${PLAYLIST_NAME}`, playlist);
    return true;
  }

  private async writeJoinedPlaylist(s: RenditionState): Promise<void> {
    if (!s.mapUri) throw new PipelineError('PACKAGE_BAD_RENDITION', 'Rendition has no init segment.', { rendition: s.input.name });
    const text = renderMediaPlaylist({ mapUri: s.mapUri, segments: s.published, type: 'VOD', endList: true });
    await writeFileAtomic(path.join(this.o.workDir, s.input.dir, PLAYLIST_NAME), text);
  }

  private async putFile(rel: string, local: string): Promise<void> {
    if (this.publishedFiles.has(rel)) return;
    await this.o.sink.putFile(rel, local);
    this.publishedFiles.add(rel);
  }

  /** A master from the planned ladder: nominal peak/average bitrates until the final one is measured. */
  private async eventMaster(): Promise<string> {
    const audio = this.states.find((s) => s.input.kind === 'audio');
    const audioCodec = audio
      ? await codecOfInitFile(path.join(this.o.workDir, audio.input.dir, audio.mapUri ?? 'init.mp4'), 'audio')
      : undefined;
    const variants: MasterVariant[] = [];
    for (const s of this.states) {
      const rung = s.input.rung;
      if (s.input.kind !== 'video' || !rung) continue;
      const codec = await codecOfInitFile(path.join(this.o.workDir, s.input.dir, s.mapUri ?? 'init.mp4'), 'video');
      variants.push({
        uri: `${s.input.dir}/${PLAYLIST_NAME}`,
        bandwidth: rung.maxBitrate + (audio ? AUDIO_BITRATE : 0),
        averageBandwidth: rung.videoBitrate + (audio ? AUDIO_BITRATE : 0),
        codecs: audioCodec ? `${codec},${audioCodec}` : codec,
        width: rung.width,
        height: rung.height,
        fps: rung.fps,
      });
    }
    return renderMasterPlaylist(variants, audio ? defaultAudio(`${audio.input.dir}/${PLAYLIST_NAME}`) : undefined);
  }

  /**
   * After ffmpeg exited successfully: finalises the package in the work dir (VOD playlists, I-frame playlists,
   * measured master) and publishes what is new — media and images first, then playlists, the master last.
   */
  async finish(): Promise<PackageResult> {
    await this.stop();
    await this.poll(true); // segments ffmpeg listed since the last tick: split and publish them like the others
    // ffmpeg's playlists list its pieces; the package is made of the joined segments (writeMaster reads these).
    if (this.o.pieces) await Promise.all(this.states.map((s) => this.writeJoinedPlaylist(s)));
    const result = await writeMaster(this.o.workDir, this.o.renditions, this.known);
    // Only the renditions' directories and the master: the artwork is written into the work dir's top level while
    // this runs (pipeline/package-stage.ts), and its owner publishes it, whole and in its own order.
    const inRenditions = await Promise.all(this.states.map((s) => filesUnder(this.o.workDir, s.input.dir)));
    const files = [...inRenditions.flat(), MASTER_NAME];
    const local = (f: string): string => path.join(this.o.workDir, f);
    // Three waves, each in parallel: media and images, then the playlists naming them, the master last.
    await mapLimit(
      files.filter((f) => !f.endsWith('.m3u8')),
      PUBLISH_CONCURRENCY,
      (f) => this.putFile(f, local(f)),
    );
    const playlists = files.filter((f) => f.endsWith('.m3u8') && f !== MASTER_NAME);
    await mapLimit(playlists, PUBLISH_CONCURRENCY, (f) => this.o.sink.putFile(f, local(f)));
    await this.o.sink.putFile(MASTER_NAME, local(MASTER_NAME));
    if (!this.masterPublished) {
      this.masterPublished = true;
      await this.o.onPlayable?.();
    }
    return result;
  }

  /** The published segments' indexes by package-relative path, for validation without reading them again. */
  readonly known: PackageIndex = (rel) => this.segmentIndex.get(rel);

  /** The last poll error, if polling has not recovered since (for diagnostics). */
  get error(): unknown {
    return this.lastError;
  }
}

/**
 * Files under `dir` as `/`-separated relative paths, without ffmpeg's and our in-progress temp files and without
 * dot-directories: those hold work material that is not part of the package (the still frames of artwork.ts).
 */
export async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!e.name.startsWith('.')) out.push(...(await filesUnder(dir, r)));
    } else if (!e.name.endsWith('.tmp')) out.push(r);
  }
  return out;
}
