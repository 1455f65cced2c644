import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { PersonalDataRoutesOptions } from '../api/routes/me.ts';
import { webhookJobId } from '../api/webhooks/relay.ts';
import { createPseudonymiser } from '../core/pseudonym.ts';
import { PersonalDataStore } from '../db/personal-data-store.ts';
import { exportStream, exportZipStream, type DataExportDeps } from '../pipeline/data-export.ts';
import { eraseUser, type ErasureDeps, type LocalLocation, type ObjectLocation } from '../pipeline/erasure.ts';
import { forgetJobs, removeJobs, waitJobStopped } from '../pipeline/job-erasure.ts';
import { hlsPrefix } from '../pipeline/job-parts.ts';
import { incomingKey, masterObjectKey, quarantineKey } from '../pipeline/sources.ts';
import type { VideoDeletionDeps } from '../pipeline/video-deletion.ts';
import { archiveKeyFor } from '../storage/archive/archive.ts';
import type { SharedResources } from './shared-root.ts';

/**
 * Every store a video's files can be in, besides PostgreSQL (the runbook's "Personal data" table lists the same):
 * the publish store (HLS; with STORAGE_DRIVER=s3 also uploads, masters and quarantined uploads), the archive, and the
 * data-volume directories. The Stream copy is removed by the video deletion (it is found through the row's stream_uid).
 */
export function personalDataLocations(s: SharedResources): { objects: ObjectLocation[]; localDirs: LocalLocation[] } {
  const { config, storages } = s;
  const bucket = s.sources.kind === 'bucket';
  const objects: ObjectLocation[] = [
    {
      store: 'publish',
      storage: storages.publish,
      prefixes: (id) => [
        `${hlsPrefix(id)}/`,
        ...(bucket ? [`${path.posix.dirname(incomingKey(id))}/`, `masters/${id}/`, `${path.posix.dirname(quarantineKey(id))}/`] : []),
      ],
    },
  ];
  if (storages.archive) objects.push({ store: 'archive', storage: storages.archive, prefixes: (id) => [archiveKeyFor(id)] });
  const localDirs: LocalLocation[] = [
    { store: 'uploads', dir: config.uploadDir },
    { store: 'masters', dir: config.mastersDir },
    { store: 'work', dir: config.workDir },
    { store: 'quarantine', dir: config.quarantineDir },
  ];
  return { objects, localDirs };
}

/** The user's own copy of a master: the data volume's or the bucket's, else the archive's. */
function masterOpener(s: SharedResources): (videoId: string) => Promise<Readable | undefined> {
  return async (videoId) => {
    const v = await s.videos.get(videoId);
    const key = v?.stripped_master_key;
    if (key && s.sources.kind === 'local') {
      const file = path.resolve(s.config.mastersDir, key);
      const ok = file.startsWith(path.resolve(s.config.mastersDir) + path.sep) && (await stat(file).catch(() => undefined))?.isFile();
      if (ok) return createReadStream(file);
    }
    if (key && s.sources.kind === 'bucket' && (await s.storages.publish.head(masterObjectKey(key)))) {
      return s.storages.publish.get(masterObjectKey(key));
    }
    const archive = s.storages.archive;
    if (v && archive && (await archive.head(archiveKeyFor(videoId)))) return archive.get(archiveKeyFor(videoId));
    return undefined;
  };
}

/** Export and erasure wired to this deployment's stores and queue (routes in api/routes/me.ts). */
export function personalDataRoutes(s: SharedResources, deletion: VideoDeletionDeps): PersonalDataRoutesOptions {
  const { config } = s;
  const store = new PersonalDataStore(s.sql);
  const { objects, localDirs } = personalDataLocations(s);
  const exportDeps: DataExportDeps = { store, objects, openMaster: masterOpener(s) };
  const erasure: ErasureDeps = {
    store,
    videos: s.videos,
    deletion,
    objects,
    localDirs,
    uploadDir: config.uploadDir,
    uploadIdsOf: (userId) => store.uploadIdsOf(userId),
    waitJobStopped: (id) => waitJobStopped(s.queue, id, { timeoutMs: config.privacy.erasureJobStopTimeoutMs }),
    forgetJobs: (id) => forgetJobs(s.queue, { redisUrl: config.redisUrl, prefix: config.queuePrefix }, id),
    // A delivery running at that moment is waited for (one HTTP request), then its record is removed too.
    forgetEvents: (ids) =>
      removeJobs(
        s.webhookQueue,
        ids.flatMap((id) => config.webhooks.urls.map((url) => webhookJobId(id, url))),
      ),
    pseudonyms: () => createPseudonymiser(config.privacy.auditPseudonymKey),
    logger: s.logger,
  };
  return {
    exportJson: (userId) => exportStream(exportDeps, userId),
    exportZip: (userId) => exportZipStream(exportDeps, userId),
    erase: (userId, actor) => eraseUser(erasure, userId, actor),
  };
}
