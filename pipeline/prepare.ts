import { access, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import { isPipelineError, PipelineError, type ErrorCode } from '../core/errors.ts';
import type { VideoRepository } from '../db/videos.ts';
import type { RawProbe } from '../media/ffprobe.ts';
import { quarantineFile, scanFile, type ClamdOptions, type ScanResult } from '../ingest/scan.ts';
import { deleteTusUpload } from '../ingest/video-files.ts';
import { stripVideoMetadata, type StrippedMaster } from '../ingest/strip.ts';
import { validateUpload, type ValidatedSource } from '../ingest/validate.ts';
import type { MediaInput } from '../media/allow-list.ts';

export interface PrepareMasterOptions {
  readonly videos: VideoRepository;
  readonly clamd: ClamdOptions;
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** Where infected uploads are moved (config QUARANTINE_DIR). */
  readonly quarantineDir: string;
  /** Where stripped masters are written, one `<videoId>/master.<ext>` each. */
  readonly mastersDir: string;
  /** Config MAX_DURATION_SEC. */
  readonly maxDurationSec: number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Where the upload and master live beyond this attempt; default the data volume (QUARANTINE_DIR, mastersDir). */
  readonly keeping?: SourceKeeping;
}

/**
 * What happens to the upload and the master outside this attempt's files. The default keeps everything on the data
 * volume; with the bucket (pipeline/source-step.ts) the master is put before it is recorded and the upload object is
 * deleted or quarantined.
 */
export interface SourceKeeping {
  /** Where an infected upload is kept, as recorded on the row (before it is moved there). */
  quarantineLocation(videoId: string, sourcePath: string): string;
  /** Moves the infected upload there; idempotent. */
  quarantine(videoId: string, sourcePath: string): Promise<void>;
  /** Makes the stripped master durable; called before the row records it. */
  keepMaster(localPath: string, key: string): Promise<void>;
  /** The raw upload is not needed any more (master recorded, or the upload rejected). */
  discardUpload(sourcePath: string): Promise<void>;
}

/** Outcomes decided by the upload itself: recorded on the video, never retried. */
const TERMINAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INGEST_INFECTED',
  'INGEST_EMPTY',
  'INGEST_UNREADABLE',
  'INGEST_NOT_VIDEO',
  'INGEST_BAD_DIMENSIONS',
  'INGEST_BAD_DURATION',
  'INGEST_TOO_LONG',
  'INGEST_TRUNCATED',
  'INGEST_UNSUPPORTED_CONTAINER',
]);

export function isTerminalIngestError(err: unknown): err is PipelineError {
  return isPipelineError(err) && TERMINAL_CODES.has(err.code);
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** What identifies the bytes of a file on disk without reading them again. */
async function fingerprint(file: string): Promise<{ key: string; size: number }> {
  const st = await stat(file, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
    // Not a scanner outage: a worker that cannot see the upload (no shared DATA_DIR) must say so.
    if (err.code === 'ENOENT')
      throw new PipelineError('TRANSCODE_SOURCE_MISSING', `The upload is not at ${file}.`, { where: file }, { cause: err });
    throw err;
  });
  return { key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, size: Number(st.size) };
}

/**
 * The bytes processed must be the bytes scanned: the media layer lets ffmpeg read only this one file (no references
 * to others), and this check catches the file itself being replaced or appended to between scan and strip.
 */
async function assertUnchanged(file: string, scanned: { key: string }): Promise<void> {
  if ((await fingerprint(file)).key !== scanned.key) {
    throw new PipelineError('INGEST_SOURCE_CHANGED', 'The upload changed after it was scanned.', { file });
  }
}

/**
 * Everything between a finished upload and the transcoder: ClamAV scan (with sha256) beside validation by content and
 * the metadata-stripped master. Returns once the upload is validated, with the master still being written and
 * `cleared` pending: the transcoder may start on the validated upload (see `upload`) or on the master, but nothing may
 * leave the worker (publish, archive) and the row may not turn ready before `cleared` resolves. Infected and invalid
 * uploads end in `infected` / `rejected` and throw (or reject `master` / `cleared` with) a terminal error; clamd being
 * unreachable gives INGEST_SCAN_UNAVAILABLE, on which the job waits for clamd (pipeline/outage.ts): the file is never
 * passed on unscanned. A retry after the master was recorded reuses it.
 */
export interface PreparedMaster {
  /**
   * The stripped master: its path and, when this attempt wrote it, its probe (a retry that reuses the master probes
   * it once). Rejects as the strip does, after the verdict was recorded (an infected upload is `infected` first).
   */
  readonly master: Promise<{ readonly path: string; readonly probe: RawProbe | undefined }>;
  /**
   * The upload as validation vetted it, readable while the master is written; undefined when an earlier attempt's
   * master is used. A transcode may read it only if it re-encodes every stream: a stream copy would carry the
   * upload's in-band user data, which only the master is free of. Call `uploadRead` once nothing reads it.
   */
  readonly upload: { readonly input: MediaInput; readonly probe: RawProbe } | undefined;
  /**
   * Resolves once the scan cleared these bytes and the master is recorded (already resolved for a reused master);
   * rejects with the verdict (INGEST_INFECTED, recorded and quarantined; the master deleted), the strip's error or the
   * scan's error.
   */
  readonly cleared: Promise<void>;
  /** Nothing of this attempt reads the upload any more; idempotent. */
  readonly uploadRead: () => void;
  /**
   * Resolves once the raw upload (it still carries GPS and device tags) is deleted: after `cleared` and `uploadRead`.
   * Rejects as `cleared` does. The row may not turn ready before it.
   */
  readonly discarded: Promise<void>;
}

/** A master from an earlier attempt: nothing to wait for, and the upload is gone already. */
export function reusedMaster(masterPath: string): PreparedMaster {
  return {
    master: Promise.resolve({ path: masterPath, probe: undefined }),
    upload: undefined,
    cleared: Promise.resolve(),
    uploadRead: () => undefined,
    discarded: Promise.resolve(),
  };
}

const quarantineName = (videoId: string, sourcePath: string): string => `${videoId}-${path.basename(sourcePath)}`;

/**
 * Moves an infected upload to quarantine (and drops its tus info file). The verdict is recorded before this runs, so
 * a job that stopped in between (the database or the disk was down) finishes the move when it runs again.
 */
const onDataVolume = (o: PrepareMasterOptions): SourceKeeping => ({
  quarantineLocation: (videoId, sourcePath) => path.join(o.quarantineDir, quarantineName(videoId, sourcePath)),
  quarantine: async (videoId, sourcePath) => {
    if (await exists(sourcePath)) await quarantineFile(sourcePath, o.quarantineDir, quarantineName(videoId, sourcePath));
    await deleteTusUpload(sourcePath);
  },
  keepMaster: async () => undefined,
  discardUpload: async (sourcePath) => {
    await deleteTusUpload(sourcePath);
  },
});

const keepingOf = (o: PrepareMasterOptions): SourceKeeping => o.keeping ?? onDataVolume(o);

/**
 * Waits for the scan and acts on its verdict: clamd unreachable → its error; infected → recorded, quarantined,
 * INGEST_INFECTED; a different length read → INGEST_SOURCE_CHANGED; clean → recorded.
 */
async function verdict(
  videoId: string,
  sourcePath: string,
  before: { size: number },
  scanning: Promise<ScanResult>,
  o: PrepareMasterOptions,
): Promise<void> {
  const scan = await scanning;
  if (scan.verdict.infected) {
    const { signature } = scan.verdict;
    const quarantinePath = keepingOf(o).quarantineLocation(videoId, sourcePath);
    await o.videos.markInfected(videoId, { signature, sha256: scan.sha256, quarantinePath });
    await keepingOf(o).quarantine(videoId, sourcePath);
    o.logger.warn({ videoId, signature, quarantinePath }, 'infected upload quarantined');
    throw new PipelineError('INGEST_INFECTED', `ClamAV found ${signature}.`, { signature });
  }
  // clamd saw every byte of the file as it was when the scan started, and nothing else.
  if (scan.bytes !== before.size) {
    throw new PipelineError('INGEST_SOURCE_CHANGED', 'The scan read a different length.', { bytes: scan.bytes });
  }
  await o.videos.recordCleanScan(videoId, scan.sha256);
}

/** The strip's failure, handled as a failed validation was before it: the verdict first, then the upload's own. */
async function stripFailed(videoId: string, sourcePath: string, o: PrepareMasterOptions, s: Scan, err: unknown): Promise<never> {
  // The verdict comes first: an infected upload is recorded as infected whatever else is wrong with it.
  await verdict(videoId, sourcePath, s.before, s.scanning, o);
  if (isTerminalIngestError(err)) {
    await o.videos.markFailed(videoId, 'rejected', err.code, err.message);
    // Not a video we will ever use, and it may carry location tags: do not keep it (it would never expire either).
    await keepingOf(o).discardUpload(sourcePath);
  }
  throw err;
}

interface Scan {
  readonly before: { key: string; size: number };
  readonly scanning: Promise<ScanResult>;
}

function strip(videoId: string, source: ValidatedSource, o: PrepareMasterOptions): Promise<StrippedMaster> {
  return stripVideoMetadata({
    ffmpegPath: o.ffmpegPath,
    ffprobePath: o.ffprobePath,
    input: source.input,
    videoCodec: source.videoCodec,
    outBase: path.join(o.mastersDir, videoId, 'master'),
    declaredDurationSec: source.durationSec,
  });
}

export async function prepareMaster(videoId: string, sourcePath: string, o: PrepareMasterOptions): Promise<PreparedMaster> {
  const video = await o.videos.get(videoId);
  if (video?.stripped_master_key) {
    const done = path.join(o.mastersDir, video.stripped_master_key);
    if (await exists(done)) {
      // A run that stopped between recording the master and deleting the upload: the raw upload still carries its
      // GPS/device tags and nothing will read it again, so this run finishes the deletion.
      await keepingOf(o).discardUpload(sourcePath);
      return reusedMaster(done);
    }
  }
  if (video?.status === 'infected') {
    await keepingOf(o).quarantine(videoId, sourcePath);
    throw new PipelineError('INGEST_INFECTED', `ClamAV found ${video.scan_signature ?? 'malware'}.`, { signature: video.scan_signature });
  }
  await o.videos.markProcessing(videoId, 'scan');
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  const before = await fingerprint(sourcePath);
  // The scan (one read: clamd + sha256) and validate → strip run side by side; the stripped copy is only recorded,
  // and only ever leaves the worker, once the scan has cleared the very bytes it was made from.
  const scanning = scanFile(sourcePath, o.clamd);
  scanning.catch(() => undefined); // awaited below on every path; this only keeps an early rejection from being unhandled
  const scan: Scan = { before, scanning };
  const source = await validateUpload(sourcePath, { ffprobePath: o.ffprobePath, maxDurationSec: o.maxDurationSec }).catch((err: unknown) =>
    stripFailed(videoId, sourcePath, o, scan, err),
  );
  const stripped = strip(videoId, source, o).catch((err: unknown) => stripFailed(videoId, sourcePath, o, scan, err));
  stripped.catch(() => undefined); // the caller awaits `master` or `cleared`; this only keeps a rejection quiet meanwhile
  const cleared = (async (): Promise<void> => {
    const master = await stripped;
    try {
      await verdict(videoId, sourcePath, before, scanning, o);
      await assertUnchanged(sourcePath, before);
      o.logger.info({ videoId, ms: ms() }, 'upload scanned clean');
    } catch (err) {
      await rm(master.path, { force: true });
      throw err;
    }
    const key = path.relative(o.mastersDir, master.path).split(path.sep).join('/');
    await keepingOf(o).keepMaster(master.path, key);
    await o.videos.recordStrippedMaster(videoId, { key, sha256: await master.sha256, sizeBytes: master.sizeBytes });
    o.logger.info({ videoId, ms: ms() }, 'stripped master recorded');
  })();
  cleared.catch(() => undefined); // the caller awaits it; this only keeps a rejection it has not reached yet quiet
  let uploadRead!: () => void;
  const read = new Promise<void>((resolve) => (uploadRead = resolve));
  // The raw upload still carries GPS/device tags; once the master is recorded it is the copy that goes on.
  const discarded = cleared.then(() => read).then(() => keepingOf(o).discardUpload(sourcePath));
  discarded.catch(() => undefined);
  const master = stripped.then((m) => ({ path: m.path, probe: m.probe }));
  master.catch(() => undefined);
  return {
    master,
    upload: { input: source.input, probe: source.probe },
    cleared,
    uploadRead,
    discarded,
  };
}
