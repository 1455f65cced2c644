import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { TranscodeSource } from '../core/types.ts';
import type { ObjectStorage } from '../storage/types.ts';

/**
 * Where a video's raw upload and stripped master live between hosts. With STORAGE_DRIVER=local they are files on the
 * data volume every process mounts (DATA_DIR/uploads, DATA_DIR/masters). With STORAGE_DRIVER=s3 they are objects in
 * the publish bucket under private prefixes that no route serves (playback only ever reads `hls/<uuid>/…`):
 * - `incoming/<videoId>/upload`: the raw upload, put by the API host once the row exists, deleted once the master is
 *   recorded (or on a rejection); an infected one is moved to `quarantine/<videoId>/upload`;
 * - `masters/<stripped_master_key>` (= `masters/<videoId>/master.<ext>`): the scanned, metadata-stripped master.
 * Workers copy what they need into a temp dir of their own DATA_DIR and remove it when the job ends.
 */
export const incomingKey = (videoId: string): string => `incoming/${videoId}/upload`;
export const masterObjectKey = (strippedMasterKey: string): string => `masters/${strippedMasterKey}`;
export const quarantineKey = (videoId: string): string => `quarantine/${videoId}/upload`;
/** How a bucket key is written where a local path would be (archive staging_path, quarantine_path). */
export const bucketRef = (key: string): string => `bucket:${key}`;
export const keyOfBucketRef = (ref: string): string | undefined => (ref.startsWith('bucket:') ? ref.slice('bucket:'.length) : undefined);

/** Bucket prefixes that hold sources (never published, never served). */
export const SOURCE_PREFIXES = ['incoming/', 'masters/', 'quarantine/'] as const;

/** The columns of a video row that say where its sources are. */
export interface SourceRow {
  readonly id: string;
  readonly source_key: string | null;
  readonly stripped_master_key: string | null;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

const missing = (what: string, where: string, cause?: unknown): PipelineError =>
  new PipelineError('TRANSCODE_SOURCE_MISSING', `The ${what} is not at ${where}.`, { where }, cause === undefined ? undefined : { cause });

/** Sources on the data volume every process mounts (single box, or a shared volume). */
export class LocalSources {
  readonly kind = 'local';
  readonly #mastersDir: string;

  constructor(o: { readonly mastersDir: string }) {
    this.#mastersDir = path.resolve(o.mastersDir);
  }

  /** The master's own path (nothing is copied): `dir` is unused. */
  async fetchMaster(strippedMasterKey: string, _dir: string): Promise<string | undefined> {
    const file = path.resolve(this.#mastersDir, strippedMasterKey);
    if (!file.startsWith(this.#mastersDir + path.sep)) return undefined;
    return (await exists(file)) ? file : undefined;
  }
}

/** Sources in the bucket, so a worker host needs Redis, PostgreSQL, the bucket and a clamd, and no shared disk. */
export class BucketSources {
  readonly kind = 'bucket';
  readonly storage: ObjectStorage;

  constructor(storage: ObjectStorage) {
    this.storage = storage;
  }

  /** API side, once the row exists: the finished upload goes to `incoming/`, and the job names that key. */
  async stageUpload(videoId: string, uploadPath: string): Promise<TranscodeSource> {
    const key = incomingKey(videoId);
    const { size } = await stat(uploadPath);
    await this.storage.put(key, createReadStream(uploadPath), {
      contentType: 'application/octet-stream',
      cacheControl: 'private, no-store',
      metadata: { 'upload-size': String(size) },
    });
    return { sourceObject: key };
  }

  /** Copies `key` to `dest` (a temp name first); TRANSCODE_SOURCE_MISSING when the object is not there. */
  async download(key: string, dest: string, what = 'upload'): Promise<string> {
    await mkdir(path.dirname(dest), { recursive: true });
    const body = await this.storage.get(key).catch((err: unknown) => {
      throw isPipelineError(err, 'STORAGE_NOT_FOUND') ? missing(what, `bucket key ${key}`, err) : err;
    });
    const part = `${dest}.part`;
    try {
      await pipeline(body, createWriteStream(part, { flags: 'wx' }));
      await rename(part, dest);
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
    return dest;
  }

  /** A local copy of the master in `dir`, or undefined when the bucket has none. */
  async fetchMaster(strippedMasterKey: string, dir: string): Promise<string | undefined> {
    const key = masterObjectKey(strippedMasterKey);
    if (!(await this.storage.head(key))) return undefined;
    return this.download(key, path.join(dir, path.basename(strippedMasterKey)), 'master');
  }

  /** Makes the stripped master durable before the row records it (retries and other hosts start from it). */
  async keepMaster(localPath: string, strippedMasterKey: string): Promise<void> {
    await this.storage.put(masterObjectKey(strippedMasterKey), createReadStream(localPath), {
      contentType: 'application/octet-stream',
      cacheControl: 'private, no-store',
    });
  }

  async discardUpload(videoId: string): Promise<void> {
    await this.storage.delete(incomingKey(videoId));
  }

  /**
   * An infected upload leaves `incoming/` (where workers fetch from) for `quarantine/`, as locally it moves to
   * QUARANTINE_DIR: kept for whoever investigates, readable only with bucket credentials. Idempotent: the verdict is
   * recorded first, and a run that stopped half-way finishes the move.
   */
  async quarantine(videoId: string): Promise<void> {
    const from = incomingKey(videoId);
    if (await this.storage.head(from)) {
      await this.storage.put(quarantineKey(videoId), await this.storage.get(from), { contentType: 'application/octet-stream' });
    }
    await this.storage.delete(from);
  }

  /** The job source of a re-queued video: its upload, or its master (prepare starts from it); undefined when neither. */
  async requeueSource(v: SourceRow): Promise<TranscodeSource | undefined> {
    const key = incomingKey(v.id);
    if (await this.storage.head(key)) return { sourceObject: key };
    if (v.stripped_master_key && (await this.storage.head(masterObjectKey(v.stripped_master_key)))) return { sourceObject: key };
    return undefined;
  }

  /** Video ids that have an upload or a master in the bucket (for the orphan sweep). */
  async videoIds(): Promise<string[]> {
    const keys = [...(await this.storage.list('incoming/')), ...(await this.storage.list('masters/'))];
    return [...new Set(keys.map((k) => k.split('/')[1] ?? ''))].filter(Boolean);
  }

  /** Deletes a video's upload and master objects; the quarantine is left, as locally. Returns how many were there. */
  async removeVideo(videoId: string): Promise<number> {
    const keys = [...(await this.storage.list(`incoming/${videoId}/`)), ...(await this.storage.list(`masters/${videoId}/`))];
    for (const key of keys) await this.storage.delete(key);
    return keys.length;
  }
}

export type VideoSources = LocalSources | BucketSources;

/**
 * The master of `v` in a local directory, wherever it is stored: any job (a whole-video transcode, one chunk of a long
 * video on another host) calls this and gets a path it may read. With the bucket the copy is put into `dir`, which the
 * caller removes; locally the master's own path is returned. TRANSCODE_SOURCE_MISSING when there is none.
 */
export async function masterInto(sources: VideoSources, v: SourceRow, dir: string): Promise<string> {
  const local = v.stripped_master_key ? await sources.fetchMaster(v.stripped_master_key, dir) : undefined;
  if (!local) throw missing('master', v.stripped_master_key ?? `video ${v.id} (no master recorded)`);
  return local;
}
