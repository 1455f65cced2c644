import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { Pseudonymiser } from '../core/pseudonym.ts';
import type { PersonalDataStore } from '../db/personal-data-store.ts';
import type { Actor } from '../db/video-admin.ts';
import type { VideoRepository } from '../db/videos.ts';
import { deleteTusUpload } from '../ingest/video-files.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { deleteVideoEverywhere, type VideoDeletionDeps } from './video-deletion.ts';

/**
 * Every place outside PostgreSQL where files about a video can be, besides what the video deletion already removes.
 * Each is wiped for every video id of the user, also ids of videos deleted earlier (a leftover of a killed worker, a
 * quarantined upload): the list the export names files from and the erasure test scans.
 */
export interface ObjectLocation {
  /** For the runbook and logs: "publish", "archive", … */
  readonly store: string;
  readonly storage: ObjectStorage;
  /** Key prefixes of one video in this store (each ends in `/` or is a whole key). */
  readonly prefixes: (videoId: string) => readonly string[];
}

/** A directory on the data volume whose entries named `<videoId>` or `<videoId>-…` belong to that video. */
export interface LocalLocation {
  readonly store: string;
  readonly dir: string;
}

export interface ErasureDeps {
  readonly store: PersonalDataStore;
  readonly videos: VideoRepository;
  readonly deletion: VideoDeletionDeps;
  readonly objects: readonly ObjectLocation[];
  readonly localDirs: readonly LocalLocation[];
  /** The tus staging dir: the user's unfinished uploads (named by upload id) are deleted from it. */
  readonly uploadDir: string;
  /** Upload ids the user's quota entries name (open and finished uploads). */
  readonly uploadIdsOf: (userId: string) => Promise<readonly string[]>;
  /**
   * Waits until no job of the video runs any more (after cancelJob signalled it), so nothing it does later can write
   * files or rows about the video; default: does not wait.
   */
  readonly waitJobStopped?: (videoId: string) => Promise<void>;
  /** Forgets the queue's finished job records of the video (their data names it); default none. */
  readonly forgetJobs?: (videoId: string) => Promise<void>;
  /** Removes queued deliveries of these webhook events (their payload names the user); default none. */
  readonly forgetEvents?: (eventIds: readonly string[]) => Promise<void>;
  readonly pseudonyms: () => Pseudonymiser;
  readonly logger: Logger;
}

export interface ErasureResult {
  readonly videos: number;
  readonly objects: number;
  readonly files: number;
  readonly rows: Readonly<Record<string, number>>;
}

async function wipeLocal(l: LocalLocation, videoIds: ReadonlySet<string>): Promise<number> {
  const names = await readdir(l.dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  // Entries are named after the video id ("<id>", "<id>-…", "restored-<id>"): the first uuid in the name decides.
  const hit = names.filter((n) => {
    const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(n)?.[0];
    return id !== undefined && videoIds.has(id);
  });
  for (const n of hit) await rm(path.join(l.dir, n), { recursive: true, force: true });
  return hit.length;
}

async function wipeObjects(locations: readonly ObjectLocation[], videoId: string): Promise<number> {
  let n = 0;
  for (const loc of locations) {
    for (const prefix of loc.prefixes(videoId)) {
      const keys = prefix.endsWith('/') ? await loc.storage.list(prefix) : (await loc.storage.head(prefix)) ? [prefix] : [];
      for (const key of keys) await loc.storage.delete(key);
      n += keys.length;
    }
  }
  return n;
}

/**
 * Erases a user: running jobs stopped first (so none publishes or records anything afterwards), then every video
 * deleted the way an owner's DELETE does (archive copy and Stream copy included), leftovers of any video id ever
 * theirs wiped from every listed location, their unfinished uploads removed, and last the rows (db/personal-data.ts):
 * deleted, or pseudonymised in the moderation audit. Files go before rows: a failure leaves the rows that lead to the
 * files, and the same erasure can be run again. Idempotent.
 */
export async function eraseUser(d: ErasureDeps, userId: string, actor: Actor): Promise<ErasureResult> {
  const videoIds = await d.store.videoIdsOf(userId);
  for (const id of videoIds) await d.deletion.cancelJob?.(id);
  for (const id of videoIds) await d.waitJobStopped?.(id);
  let videos = 0;
  let objects = 0;
  for (const id of videoIds) {
    const v = await d.videos.get(id);
    if (v) {
      const r = await deleteVideoEverywhere(d.deletion, v, actor, true);
      objects += r.hlsObjects;
      videos++;
    }
    objects += await wipeObjects(d.objects, id);
    await d.forgetJobs?.(id);
  }
  const ids = new Set(videoIds);
  let files = 0;
  for (const l of d.localDirs) files += await wipeLocal(l, ids);
  for (const uploadId of await d.uploadIdsOf(userId)) {
    if (/^[A-Za-z0-9_-]+$/.test(uploadId)) files += await deleteTusUpload(path.join(d.uploadDir, uploadId));
  }
  // Event ids before their rows go; their deliveries are removed after, so one the relay queued meanwhile goes too.
  const eventIds = await d.store.keysOf('webhook_outbox', 'id', { userId, videoIds });
  const rows = await d.store.erase({ userId, videoIds }, d.pseudonyms());
  await d.forgetEvents?.(eventIds);
  d.logger.info({ videos, objects, files, rows }, 'user erased');
  return { videos, objects, files, rows };
}
