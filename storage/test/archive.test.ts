import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternChunks } from '../../bench/pattern.ts';
import { startS3rver, type RunningS3rver } from '../../bench/s3rver-server.ts';
import { sha256Of } from '../../core/hashing.ts';
import { createDb, type Sql } from '../../db/client.ts';
import { migrate } from '../../db/migrate.ts';
import { ArchiveRecords } from '../../db/archive-records.ts';
import { VideoRepository } from '../../db/videos.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/db.ts';
import { archiveKeyFor, archiveMaster, verifyArchived } from '../archive/archive.ts';
import { cleanStagingCopies } from '../../pipeline/retention.ts';
import { restoreMaster } from '../../pipeline/restore.ts';
import { LocalDiskStorage } from '../local-disk.ts';
import { S3Storage } from '../s3.ts';
import type { ObjectStorage, PutOptions } from '../types.ts';
import { expectCode } from './conformance.ts';

const logs: string[] = [];
const logger = {
  info: () => undefined,
  debug: () => undefined,
  warn: (o: object, m?: string) => void logs.push(`warn ${m}`),
  error: (o: object, m?: string) => void logs.push(`error ${m}`),
};
const noSleep = async (): Promise<void> => undefined;

/** Delegates to a real store but lets a test tamper with the bytes of chosen put() calls. */
class TamperingStorage implements ObjectStorage {
  puts = 0;
  constructor(
    private readonly inner: ObjectStorage,
    private readonly tamper: (putNo: number, body: Readable, opts: PutOptions) => Readable,
  ) {}
  put(key: string, body: Readable, opts: PutOptions = {}): Promise<void> {
    this.puts++;
    return this.inner.put(key, this.tamper(this.puts, body, opts), opts);
  }
  get: ObjectStorage['get'] = (k, r) => this.inner.get(k, r);
  head: ObjectStorage['head'] = (k) => this.inner.head(k);
  delete: ObjectStorage['delete'] = (k) => this.inner.delete(k);
  list: ObjectStorage['list'] = (p) => this.inner.list(p);
  presignGet: ObjectStorage['presignGet'] = (k, o) => this.inner.presignGet(k, o);
  close = (): Promise<void> => this.inner.close();
}

/** Flips the first byte that flows through: a silent corruption on the way to the archive. */
const flipFirstByte = (body: Readable): Readable => {
  let done = false;
  return body.pipe(
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        if (!done && chunk.length) {
          done = true;
          const c = Buffer.from(chunk);
          c[0] = (c[0]! + 1) % 256;
          return cb(null, c);
        }
        cb(null, chunk);
      },
    }),
  );
};

describe('archive of masters', () => {
  let tmp: string;
  let server: RunningS3rver;
  let s3: S3Storage;
  let db: TestDatabase;
  let sql: Sql;
  let records: ArchiveRecords;
  let videos: VideoRepository;
  let master: string;
  let masterSha: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-archive-'));
    server = await startS3rver(['archive']);
    s3 = await S3Storage.create({
      endpoint: server.endpoint,
      bucket: 'archive',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      partSize: 5 * 1024 * 1024,
    });
    db = await createTestDatabase();
    sql = createDb({ url: db.url, max: 2 });
    await migrate(sql);
    records = new ArchiveRecords(sql);
    videos = new VideoRepository(sql);
    master = path.join(tmp, 'master.mp4');
    await writeFile(master, Buffer.concat([...patternChunks(11 * 1024 * 1024 + 333)]));
    masterSha = createHash('sha256')
      .update(await readFile(master))
      .digest('hex');
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await db?.drop();
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const newVideo = async (): Promise<string> =>
    (
      await videos.createFromUpload({
        uploadId: `u-${Math.random()}`,
        title: 't',
        description: '',
        originalFilename: null,
        uploaderId: null,
        sourceKey: 'k',
        sourceSizeBytes: 1,
      })
    ).id;

  it('archives with sha256 metadata, verifies by read-back, and is idempotent', async () => {
    const r = await archiveMaster({ storage: s3, localPath: master, key: 'masters/happy', logger, sleep: noSleep });
    expect(r).toMatchObject({ sha256: masterSha, attempts: 1 });
    expect((await s3.head('masters/happy'))?.metadata['sha256']).toBe(masterSha);
    expect(await verifyArchived(s3, 'masters/happy', { sha256: masterSha, size: r.size })).toBe(true);
    const again = await archiveMaster({ storage: s3, localPath: master, key: 'masters/happy', logger, sleep: noSleep });
    expect(again.attempts).toBe(0);
  });

  it('detects a corrupted first upload by checksum and retries it', async () => {
    const store = new TamperingStorage(s3, (n, body) => (n === 1 ? flipFirstByte(body) : body));
    logs.length = 0;
    const r = await archiveMaster({ storage: store, localPath: master, key: 'masters/retry', logger, sleep: noSleep });
    expect(r.attempts).toBe(2);
    expect(store.puts).toBe(2);
    expect(logs).toContain('warn archive attempt failed');
    expect((await sha256Of(await s3.get('masters/retry'))).sha256).toBe(masterSha);
  });

  it('gives up with STORAGE_CHECKSUM_MISMATCH, deletes the bad copy and keeps the local master', async () => {
    const store = new TamperingStorage(s3, (_n, body) => flipFirstByte(body));
    await expectCode(
      archiveMaster({ storage: store, localPath: master, key: 'masters/bad', attempts: 3, logger, sleep: noSleep }),
      'STORAGE_CHECKSUM_MISMATCH',
    );
    expect(store.puts).toBe(3);
    expect(await s3.head('masters/bad')).toBeUndefined();
    expect((await sha256Of(createReadStream(master))).sha256).toBe(masterSha);
  });

  for (const backend of ['s3', 'local'] as const) {
    it(`a killed upload (${backend}) leaves the source intact and no object visible, without retrying`, async () => {
      const inner = backend === 's3' ? s3 : new LocalDiskStorage({ root: path.join(tmp, 'local-archive') });
      const ac = new AbortController();
      let seen = 0;
      const store = new TamperingStorage(inner, (_n, body) =>
        body.pipe(
          new Transform({
            transform(chunk: Buffer, _e, cb) {
              seen += chunk.length;
              if (seen > 6 * 1024 * 1024) ac.abort(); // mid-stream, after the first multipart part went out
              cb(null, chunk);
            },
          }),
        ),
      );
      await expectCode(
        archiveMaster({ storage: store, localPath: master, key: 'masters/killed', signal: ac.signal, logger, sleep: noSleep }),
        'STORAGE_ABORTED',
      );
      expect(store.puts).toBe(1);
      expect(await inner.head('masters/killed')).toBeUndefined();
      expect(await inner.list('masters/killed')).toEqual([]);
      expect((await sha256Of(createReadStream(master))).sha256).toBe(masterSha);
      if (backend === 'local') expect(await readdir(path.join(tmp, 'local-archive', 'masters'))).toEqual([]);
    });
  }

  it('a SIGKILLed archive process leaves the source intact and no object visible', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'archive-child.ts'), server.endpoint, master, 'masters/sigkill'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('part 1')) child.kill('SIGKILL'); // after the first part is stored, before completion
    });
    expect(await exit).toBe('SIGKILL');
    expect(out).not.toContain('done');
    expect(await s3.head('masters/sigkill')).toBeUndefined();
    expect(await s3.list('masters/sigkill')).toEqual([]);
    expect((await sha256Of(createReadStream(master))).sha256).toBe(masterSha);
    // The job's retry then archives normally.
    expect((await archiveMaster({ storage: s3, localPath: master, key: 'masters/sigkill', logger, sleep: noSleep })).attempts).toBe(1);
  });

  it('retention deletes only staging copies of verified, old-enough archives', async () => {
    const now = new Date('2026-06-30T00:00:00Z');
    const old = new Date(now.getTime() - 31 * 24 * 3600 * 1000);
    const mk = async (name: string, at: Date, archive: boolean): Promise<{ id: string; file: string }> => {
      const id = await newVideo();
      const file = path.join(tmp, `staging-${name}`);
      await writeFile(file, `master ${name}`);
      const key = archiveKeyFor(id);
      const r = await archiveMaster({ storage: s3, localPath: file, key, logger, sleep: noSleep });
      await records.markArchived(id, { sha256: r.sha256, size: r.size, key, stagingPath: file, at });
      if (!archive) await s3.delete(key); // archive copy lost after the fact
      return { id, file };
    };
    const due = await mk('due', old, true);
    const recent = await mk('recent', new Date(now.getTime() - 24 * 3600 * 1000), true);
    const lost = await mk('lost', old, false);
    const r = await cleanStagingCopies({ records, archive: s3, now: () => now.getTime(), logger });
    expect(r.deleted).toEqual([due.id]);
    expect(r.kept).toEqual([lost.id]);
    await expect(stat(due.file)).rejects.toThrow();
    expect((await stat(recent.file)).isFile()).toBe(true);
    expect((await stat(lost.file)).isFile()).toBe(true); // never delete the only copy
    expect((await records.get(due.id))?.staging_deleted_at).toBeInstanceOf(Date);
  });

  it('restore re-fetches the master, checks its sha256 and re-queues the transcode', async () => {
    const id = await newVideo();
    const key = archiveKeyFor(id);
    const r = await archiveMaster({ storage: s3, localPath: master, key, logger, sleep: noSleep });
    await records.markArchived(id, { sha256: r.sha256, size: r.size, key, stagingPath: '/gone', at: new Date() });
    await records.markStagingDeleted(id);
    const queued: Array<{ videoId: string; sourcePath: string }> = [];
    const dest = path.join(tmp, 'restored');
    const res = await restoreMaster({ records, archive: s3, videoId: id, destDir: dest, enqueue: async (j) => (queued.push(j), 'job-1') });
    expect(res.jobId).toBe('job-1');
    expect(queued).toEqual([{ videoId: id, sourcePath: res.sourcePath }]);
    expect((await sha256Of(createReadStream(res.sourcePath))).sha256).toBe(masterSha);
    expect(await records.get(id)).toMatchObject({ staging_path: res.sourcePath, staging_deleted_at: null });

    // A tampered archive copy is refused and leaves no file behind.
    await s3.put(key, createReadStream(path.join(tmp, 'staging-recent')), { metadata: { sha256: masterSha } });
    await rm(res.sourcePath);
    await expectCode(
      restoreMaster({ records, archive: s3, videoId: id, destDir: dest, enqueue: async () => 'x' }),
      'STORAGE_CHECKSUM_MISMATCH',
    );
    expect(await readdir(dest)).toEqual([]);
    await expectCode(
      restoreMaster({ records, archive: s3, videoId: await newVideo(), destDir: dest, enqueue: async () => 'x' }),
      'STORAGE_NOT_ARCHIVED',
    );
  });
});
