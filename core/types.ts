/** Shared types that flow between stages. Later stages import these; nothing here imports a stage. */

/**
 * Processing state of a video, in the order a good upload passes through them. `rejected` (bad input) and `infected`
 * (ClamAV found malware; file quarantined) are terminal and never transcoded.
 */
export const VIDEO_STATUSES = ['uploaded', 'processing', 'ready', 'failed', 'rejected', 'infected'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];

/** Moderation state, independent of processing: only `approved` videos play for viewers. */
export const MODERATION_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ModerationStatus = (typeof MODERATION_STATUSES)[number];

/** What the probe learns about a source file. */
export interface SourceProbe {
  readonly container: string;
  readonly durationSec: number;
  readonly sizeBytes: number;
  readonly video: {
    readonly codec: string;
    readonly width: number;
    readonly height: number;
    readonly fps: number;
    readonly pixFmt: string;
    readonly rotation: number;
    readonly bitRate: number | null;
    /** ffprobe field_order: `progressive`, `tt`, `bb`, `tb`, `bt` or `unknown` (absent in older probes). */
    readonly fieldOrder?: string;
    /** ffprobe color_transfer, e.g. `bt709`, `smpte2084` (PQ), `arib-std-b67` (HLG). */
    readonly colorTransfer?: string;
    /** H.264/HEVC profile as ffprobe names it (`High`, `Main 10`, …). */
    readonly profile?: string;
    /** True when r_frame_rate and avg_frame_rate disagree: the source is variable frame rate. */
    readonly variableFrameRate?: boolean;
  };
  readonly audio: {
    readonly codec: string;
    readonly channels: number;
    readonly sampleRate: number;
    /** Audio bitrate in bits/s when the container states it. */
    readonly bitRate?: number | null;
    /** e.g. `LC`, `HE-AAC`. */
    readonly profile?: string;
  } | null;
}

/** One rung of the adaptive-bitrate ladder. */
export interface LadderRung {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Target average video bitrate in bits/s. */
  readonly videoBitrate: number;
  /** Peak cap (maxrate) in bits/s. */
  readonly maxBitrate: number;
}

/**
 * Services a job cannot do without. When one is unavailable the job waits (delayed, no attempt spent) instead of
 * failing: an outage is not a verdict on the video.
 */
export const DEPENDENCIES = ['clamd', 'database', 'storage', 'disk'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** A job's current streak of waits for one dependency (kept in the job, because the database may be the one down). */
export interface DependencyWait {
  readonly dependency: Dependency;
  /** ms since the epoch of the first wait of this streak. */
  readonly since: number;
  /** Waits so far in this streak; the next delay doubles with each. */
  readonly count: number;
}

/**
 * Where a job's upload is: an absolute path on the data volume every worker mounts (STORAGE_DRIVER=local), or a key in
 * the bucket's private `incoming/` prefix (STORAGE_DRIVER=s3), so a worker on another host needs no shared disk.
 */
export type TranscodeSource =
  { readonly sourcePath: string; readonly sourceObject?: never } | { readonly sourceObject: string; readonly sourcePath?: never };

/** Job payload on the transcode queue. */
export type TranscodeJobData = TranscodeSource & {
  readonly videoId: string;
  /** Set while the job waits for a dependency (pipeline/outage.ts). */
  readonly wait?: DependencyWait;
  /** Set once the job split the video into chunk jobs (pipeline/chunked.ts): what its second run stitches. */
  readonly chunked?: ChunkedState;
};

/** What a chunked transcode remembers between planning its child jobs and stitching their results. */
export interface ChunkedState {
  /** When the children were planned: their job ids and results carry it, so a re-planned video ignores old ones. */
  readonly epoch: number;
  /** Video chunks planned (the whole-source part comes on top). */
  readonly count: number;
  /** The probe every child encodes from (the ladder and the chunk plan follow from it). */
  readonly probe: SourceProbe;
  /** Every child was added (a parent stopped before that adds the rest when it runs again). */
  readonly added: boolean;
}

export const QUEUE_NAMES = { transcode: 'transcode', webhook: 'webhook' } as const;

/** Roles carried by access tokens (platform design): uploaders (parents, a.k.a. users), moderators, admins. */
export const ROLES = ['uploader', 'moderator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Events sent to webhook subscribers, in the order a video's life produces them. */
export const WEBHOOK_EVENTS = [
  'video.created',
  'video.ready',
  'video.failed',
  'video.approved',
  'video.rejected',
  'video.deleted',
  'video.returned_to_review',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
