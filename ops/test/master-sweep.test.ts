import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedVideo } from '../../test/helpers/seed.ts';
import { VideoRepository } from '../../db/videos.ts';
import { LocalDiskStorage } from '../../storage/local-disk.ts';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { createLogger } from '../logger.ts';
import { runMasterSweepOnce } from '../master-sweep.ts';

/** What prepareMaster and a transcode job leave behind for a video: masters/<id>/master.mp4 and work/<id>-<random>/. */
async function writeLocalFiles(t: TestApp, id: string, o: { work?: boolean } = {}): Promise<void> {
  await mkdir(path.join(t.config.mastersDir, id), { recursive: true });
  await writeFile(path.join(t.config.mastersDir, id, 'master.mp4'), 'full-quality-master');
  if (o.work) {
    await mkdir(path.join(t.config.workDir, `${id}-x1y2z3`, 'v0'), { recursive: true });
    await writeFile(path.join(t.config.workDir, `${id}-x1y2z3`, 'v0', 'seg_000.m4s'), 'partial');
  }
}

describe('orphan master sweep', () => {
  let t: TestApp;
  let sql: postgres.Sql;
  let storage: LocalDiskStorage;
  let repo: VideoRepository;

  beforeAll(async () => {
    // The worker role runs the sweep on its timer (every second here); the api role is there for the seeds' package.
    t = await startTestApp({ roles: ['api', 'worker'], env: { MASTER_SWEEP_INTERVAL_SEC: '1' } });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
    storage = new LocalDiskStorage({ root: t.config.publishDir });
    repo = new VideoRepository(sql);
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('removes masters of deleted and terminally rejected videos in the worker, and keeps every master still needed', async () => {
    const seed = () => seedVideo(sql, storage, { uploaderId: 'alice' });
    const live = await seed();
    const transcoding = await seedVideo(sql, storage, { uploaderId: 'alice', status: 'processing' });
    const modRejected = await seed();
    await sql`UPDATE videos SET moderation_status = 'rejected' WHERE id = ${modRejected}`;
    const failed = await seed();
    await repo.markFailed(failed, 'failed', 'TRANSCODE_FFMPEG_FAILED', 'crashed');
    const badInput = await seed();
    await repo.markFailed(badInput, 'rejected', 'TRANSCODE_SOURCE_CORRUPT', 'stops decoding');
    const infected = await seed();
    await repo.markInfected(infected, { signature: 'Eicar', sha256: 'a'.repeat(64), quarantinePath: '/q/x' });
    const deleted = await seed();
    for (const id of [live, transcoding, modRejected, failed, badInput, infected, deleted]) {
      await writeLocalFiles(t, id, { work: id === deleted || id === transcoding });
    }
    await mkdir(path.join(t.config.mastersDir, 'lost+found')); // not a video id: not ours to judge
    // The row goes without the API's cleanup (as when a cancelled job wrote its master after the DELETE).
    await sql`DELETE FROM videos WHERE id = ${deleted}`;

    const kept = [live, transcoding, modRejected, failed, 'lost+found'].sort();
    // The sweep removes a video's published files, work dirs and master one after another: wait for all of them.
    await waitFor(
      async () => {
        const left = (await readdir(t.config.mastersDir)).sort();
        if (JSON.stringify(left) !== JSON.stringify(kept)) return undefined;
        return (await storage.list(`hls/${deleted}/`)).length === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, what: `masters left: ${kept.join(', ')}, hls/${deleted}/ empty` },
    );
    expect(await readdir(t.config.workDir)).toEqual([`${transcoding}-x1y2z3`]);
    expect(await storage.list(`hls/${deleted}/`)).toEqual([]);
    // A rejected video's row still explains what happened; its package is left for the owner to delete.
    expect((await storage.list(`hls/${badInput}/`)).length).toBeGreaterThan(0);
    expect(await readdir(path.join(t.config.mastersDir, live))).toEqual(['master.mp4']);
  });
});

describe('orphan master sweep from the command line', () => {
  let t: TestApp;
  let sql: postgres.Sql;

  beforeAll(async () => {
    // No worker role, so no timer: only the CLI function sweeps here.
    t = await startTestApp({ roles: ['api'] });
    sql = postgres(t.db.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await t?.close();
  });

  it('runMasterSweepOnce (npm run sweep-masters) removes an orphan master and keeps a live one', async () => {
    const storage = new LocalDiskStorage({ root: t.config.publishDir });
    const live = await seedVideo(sql, storage, { uploaderId: 'alice' });
    const orphan = '3f0c8a52-6d1e-4c39-9b7a-0a4de1f2c001'; // a master whose row never existed or is long gone
    await writeLocalFiles(t, live);
    await writeLocalFiles(t, orphan, { work: true });
    const logger = createLogger({ level: 'silent' });
    expect(await runMasterSweepOnce(t.config, logger)).toEqual({ removed: [orphan], kept: 1 });
    expect(await readdir(t.config.mastersDir)).toEqual([live]);
    expect(await readdir(t.config.workDir)).toEqual([]);
    expect(await runMasterSweepOnce(t.config, logger)).toEqual({ removed: [], kept: 1 });
  });
});
