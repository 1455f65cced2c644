import { statfs as fsStatfs } from 'node:fs/promises';
import { PipelineError } from '../core/errors.ts';

/** The two statfs fields the check reads (node's StatsFs has them as number, or bigint with `{bigint: true}`). */
export interface FsSpace {
  /** Free blocks available to unprivileged users (what root's reserved blocks do not count towards). */
  readonly bavail: number | bigint;
  readonly bsize: number | bigint;
}

export interface DiskSpaceOptions {
  /** A directory on the data volume (DATA_DIR): uploads, masters and work dirs share its filesystem. */
  readonly path: string;
  /**
   * Free bytes kept for work already accepted: running uploads, strip, transcode and packaging
   * (DISK_RESERVE_BYTES). New uploads are refused once they would eat into it; 0 = only a full disk refuses.
   */
  readonly reserveBytes: number;
  /** Reads the filesystem's free space; default node's statfs. Tests pass a full disk here. */
  readonly statfs?: (path: string) => Promise<FsSpace>;
}

const DISK_FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/**
 * True for "no space left" from node (ENOSPC, EDQUOT on quota'd volumes), and for a child process (ffmpeg) whose
 * stderr says so, since it exits with a generic status and only its message names the cause.
 */
export function isDiskFullError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && DISK_FULL_ERRNOS.has(code)) return true;
  const stderr = (err as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && /No space left on device|Disk quota exceeded/i.test(stderr);
}

/** INGEST_DISK_FULL for a write that failed with ENOSPC; the errno stays in the cause, not in what clients see. */
export function diskFullError(detail: string, cause: unknown): PipelineError {
  return new PipelineError('INGEST_DISK_FULL', detail, {}, { cause });
}

/** Free space on the data volume against a reserve: what upload creation and /readyz check. */
export class DiskSpace {
  readonly #o: DiskSpaceOptions;

  constructor(o: DiskSpaceOptions) {
    this.#o = o;
  }

  get reserveBytes(): number {
    return this.#o.reserveBytes;
  }

  async freeBytes(): Promise<number> {
    const s = await (this.#o.statfs ?? fsStatfs)(this.#o.path);
    return Number(s.bavail) * Number(s.bsize);
  }

  /** Throws INGEST_DISK_FULL unless `bytes` more still leave the reserve free. */
  async assertRoom(bytes: number): Promise<void> {
    const free = await this.freeBytes();
    if (free - bytes < this.#o.reserveBytes) {
      // The numbers stay in the context (logs): clients learn that the disk is full, not how full.
      throw new PipelineError('INGEST_DISK_FULL', 'The upload would not fit above the disk reserve.', {
        freeBytes: free,
        requestedBytes: bytes,
        reserveBytes: this.#o.reserveBytes,
      });
    }
  }
}
