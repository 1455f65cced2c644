import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * The files one video leaves on the data volume, in one place so deletion and the orphan sweep agree on the layout:
 * - `uploads/<sourceKey>` and `<sourceKey>.json`: the tus upload (@tus/file-store) until the master is made;
 * - `uploads/restored-<id>`: a master fetched back from the archive for a re-transcode (`.part` while it streams);
 * - `masters/<id>/`: the metadata-stripped master, written by prepareMaster;
 * - `work/<id>-<random>/`: temp dirs of transcode jobs (removed by the job, left behind by a killed worker).
 */
export interface VideoFilesOptions {
  /** tus staging dir (DATA_DIR/uploads). */
  readonly uploadDir: string;
  /** Stripped masters, one `<videoId>/` dir each (DATA_DIR/masters). */
  readonly mastersDir: string;
  /** Parent of per-job temp dirs (DATA_DIR/work). */
  readonly workDir: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Name prefix of a video's job temp dirs (`mkdtemp` appends the random part). */
export const workDirPrefix = (videoId: string): string => `${videoId}-`;

/** Who owns a temp dir: this host (letters and digits of its name) and process, so a restart can find its own leftovers. */
export interface WorkDirOwner {
  readonly host: string;
  readonly pid: number;
}

const hostTag = (host: string): string => host.replace(/[^A-Za-z0-9]/g, '').slice(0, 40) || 'host';

/** `<videoId>-<host>.<pid>-`: the prefix of a temp dir this process makes for a job of `videoId`. */
export const ownedWorkDirPrefix = (videoId: string, owner: WorkDirOwner): string =>
  `${workDirPrefix(videoId)}${hostTag(owner.host)}.${owner.pid}-`;

const OWNED = /^[0-9a-f-]{36}-([A-Za-z0-9]+)\.(\d+)-/;

/**
 * Removes job temp dirs this host left behind: those of `me` (a restarted process cannot own any yet) and of processes
 * of this host that are gone (`alive` says). Dirs of other hosts sharing the volume are theirs to clean. Returns the
 * names removed.
 */
export async function removeOwnStaleWorkDirs(workDir: string, me: WorkDirOwner, alive: (pid: number) => boolean): Promise<string[]> {
  const names = await readdir(workDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const stale = names.filter((n) => {
    const m = OWNED.exec(n);
    return m !== null && m[1] === hostTag(me.host) && (Number(m[2]) === me.pid || !alive(Number(m[2])));
  });
  for (const n of stale) await removePath(path.join(workDir, n));
  return stale;
}
/** File name of a master restored from the archive into the upload dir. */
export const restoredUploadName = (videoId: string): string => `restored-${videoId}`;

/** Removes a file or directory tree; true when something was there. A symlink is removed, never followed. */
async function removePath(p: string): Promise<boolean> {
  const existed = await lstat(p).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  if (existed) await rm(p, { recursive: true, force: true });
  return existed;
}

/**
 * Deletes a tus upload: its data file and the `<file>.json` info @tus/file-store keeps beside it (after an infected
 * upload was quarantined, only the info is left). Returns how many of the two existed.
 */
export async function deleteTusUpload(file: string): Promise<number> {
  return Number(await removePath(file)) + Number(await removePath(`${file}.json`));
}

export class VideoFiles {
  private readonly uploadDir: string;
  private readonly mastersDir: string;
  private readonly workDir: string;

  constructor(o: VideoFilesOptions) {
    this.uploadDir = path.resolve(o.uploadDir);
    this.mastersDir = path.resolve(o.mastersDir);
    this.workDir = path.resolve(o.workDir);
  }

  /** Every local file of the video: staged upload, restored master, master dir, work dirs. */
  async removeVideo(videoId: string, sourceKey: string | null): Promise<{ uploads: number; master: boolean; workDirs: number }> {
    const uploads = (sourceKey ? await this.deleteUpload(sourceKey) : 0) + (await this.removeRestored(videoId));
    return { uploads, master: await this.removeMaster(videoId), workDirs: await this.removeWorkDirs(videoId) };
  }

  /** A finished upload's tus files (data and `.json` info); returns how many existed. */
  async deleteUpload(sourceKey: string): Promise<number> {
    const file = path.resolve(this.uploadDir, sourceKey);
    // sourceKey comes from the database, but a path outside the upload dir is never deleted, whatever it says.
    if (path.dirname(file) !== this.uploadDir) return 0;
    return deleteTusUpload(file);
  }

  async removeMaster(videoId: string): Promise<boolean> {
    if (!UUID.test(videoId)) return false;
    return removePath(path.join(this.mastersDir, videoId));
  }

  async removeWorkDirs(videoId: string): Promise<number> {
    if (!UUID.test(videoId)) return 0;
    const names = (await this.names(this.workDir)).filter((n) => n.startsWith(workDirPrefix(videoId)));
    const removed = await Promise.all(names.map((n) => removePath(path.join(this.workDir, n))));
    return removed.filter(Boolean).length;
  }

  /** Video ids that have a master dir. Names that are not video ids are not ours to judge and are left alone. */
  async masterVideoIds(): Promise<string[]> {
    return (await this.names(this.mastersDir)).filter((n) => UUID.test(n));
  }

  /** Video ids that have at least one job work dir. */
  async workVideoIds(): Promise<string[]> {
    const ids = (await this.names(this.workDir))
      .filter((n) => n[36] === '-')
      .map((n) => n.slice(0, 36))
      .filter((id) => UUID.test(id));
    return [...new Set(ids)];
  }

  private async removeRestored(videoId: string): Promise<number> {
    if (!UUID.test(videoId)) return 0;
    const file = path.join(this.uploadDir, restoredUploadName(videoId));
    return Number(await removePath(file)) + Number(await removePath(`${file}.part`));
  }

  private async names(dir: string): Promise<string[]> {
    return readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
  }
}
