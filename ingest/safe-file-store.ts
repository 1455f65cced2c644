import { timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { ERRORS, isPathInsideDirectory, Upload } from '@tus/utils';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import { SNIFF_BYTES } from '../media/container-sniff.ts';
import { HashingStream } from '../core/hashing.ts';
import { checksumScope } from './checksum.ts';
import { diskFullError, isDiskFullError } from './disk-space.ts';
import { FlushBehind } from './flush-behind.ts';
import { HeadSniff } from './head-sniff.ts';
import { CachedInfoStore } from './info-store.ts';

/** An upload refused on its first bytes (HeadSniff): why, and the error that kept its files, if any. */
export interface RefusedUpload {
  readonly err: PipelineError;
  readonly removeError: unknown;
}

/** Ids of partial uploads (tus concatenation) start with this, so every hook can tell them apart without state. */
export const PARTIAL_PREFIX = 'partial-';
export const isPartialId = (id: string): boolean => id.startsWith(PARTIAL_PREFIX);
/**
 * Upload-Metadata key of a partial upload: `partIndex 0` (base64 "MA==") says the partial holds the final upload's
 * first bytes, so it is sniffed on its first PATCH like a single upload. Optional (tus-js-client sends the same
 * metadata to every part); the final upload is sniffed in any case before its parts are joined.
 */
export const FIRST_PART_KEY = 'partIndex';

/** A flush of an upload's data file starts after this many more bytes of one PATCH, and at the end of each PATCH. */
export const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

export interface SafeFileStoreOptions {
  /** Directory holding `<id>` data files and `<id>.json` info files. */
  readonly directory: string;
  /** Unfinished uploads older than this are removed by deleteExpired(); 0 = never. */
  readonly expirationMs: number;
  /** Clock in ms since epoch; default Date.now. */
  readonly now?: () => number;
}

/**
 * @tus/file-store plus what safe ingest needs on top of it:
 * - checksum: a PATCH under checksumScope is hashed while it is written; a mismatch truncates the file back to the
 *   chunk's start offset (the chunk is discarded, the offset unchanged) and fails with INGEST_CHECKSUM_MISMATCH (460);
 * - concatenation: concatenate() streams complete partial uploads into a new final upload;
 * - writes that fail for lack of space throw INGEST_DISK_FULL (upstream turns every write error into a generic 500);
 * - the PATCH that brings the first bytes of a (non-partial) upload fails with INGEST_NOT_VIDEO_FILE as soon as they
 *   match no video container, and the upload is removed (HeadSniff);
 * - expiration that never deletes a finished upload (upstream compares the info file's `offset`, which it never
 *   updates after creation, so every finished upload looked unfinished and was deleted once expired);
 * - speed: info files cached (CachedInfoStore) and looked up beside the data file's size, data written back to disk
 *   while the upload runs (FlushBehind), so sync() before an upload is recorded has little left to do.
 */
export class SafeFileStore extends FileStore {
  readonly #now: () => number;
  /** Removals of refused uploads, by id, until the PATCH handler collects them (takeRefusal). */
  readonly #refusals = new Map<string, Promise<RefusedUpload>>();
  readonly #flushes = new FlushBehind((id) => this.pathOf(id));

  constructor(o: SafeFileStoreOptions) {
    super({ directory: o.directory, configstore: new CachedInfoStore(o.directory), expirationPeriodInMilliseconds: o.expirationMs });
    this.#now = o.now ?? Date.now;
    this.extensions = [...this.extensions, 'checksum', 'concatenation'];
  }

  /** @tus/server's PostHandler looks for the misspelt 'concatentation' before accepting Upload-Concat: partial. */
  override hasExtension(extension: string): boolean {
    return extension === 'concatentation' ? this.extensions.includes('concatenation') : super.hasExtension(extension);
  }

  /** Absolute path of an upload's data file, checked to stay inside the directory. */
  pathOf(id: string): string {
    const p = path.join(this.directory, id);
    if (!isPathInsideDirectory(this.directory, p)) throw ERRORS.FILE_NOT_FOUND;
    return p;
  }

  /** Flushes an upload's data file to disk, so a finish recorded after it never points at bytes a crash lost. */
  async sync(id: string): Promise<void> {
    await this.#flushes.settle(id);
    const handle = await open(this.pathOf(id), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /**
   * FileStore.getUpload (offset = the data file's size, the rest from the info file), with both looked up at once
   * instead of one after the other: every PATCH and HEAD waits for this before the first byte moves.
   */
  override async getUpload(id: string): Promise<Upload> {
    const file = this.pathOf(id);
    const [info, stats] = await Promise.all([this.configstore.get(id), stat(file).catch((err: unknown) => ({ err }))]);
    if (!info) throw ERRORS.FILE_NOT_FOUND;
    if ('err' in stats) {
      if ((stats.err as { code?: unknown }).code === 'ENOENT') throw ERRORS.FILE_NO_LONGER_EXISTS;
      throw stats.err;
    }
    if (stats.isDirectory()) throw ERRORS.FILE_NOT_FOUND;
    return new Upload({
      id,
      size: info.size,
      offset: stats.size,
      metadata: info.metadata,
      creation_date: info.creation_date,
      storage: { type: 'file', path: file },
    });
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const expected = checksumScope.getStore();
    if (!expected) return this.#writeAt(readable, id, offset);
    const hashing = new HashingStream(expected.algorithm);
    readable.once('error', (err) => hashing.destroy(err));
    let end: number;
    try {
      end = await this.#writeAt(readable.pipe(hashing), id, offset);
    } catch (err) {
      if (isRefusal(err)) throw err; // the upload is gone, nothing to truncate
      // Part of a checksummed chunk can never be verified: drop it so the client resends the whole chunk.
      await truncate(this.pathOf(id), offset);
      throw err;
    }
    const digest = hashing.digestBytes();
    if (digest.length !== expected.digest.length || !timingSafeEqual(digest, expected.digest)) {
      await truncate(this.pathOf(id), offset);
      throw new PipelineError('INGEST_CHECKSUM_MISMATCH', `${expected.algorithm} of the chunk at offset ${offset} differs.`, {
        id,
        offset,
        algorithm: expected.algorithm,
      });
    }
    return end;
  }

  /**
   * FileStore.write, except that ENOSPC/EDQUOT surface as INGEST_DISK_FULL instead of tus's FILE_WRITE_ERROR, the
   * bytes are counted by the file stream instead of one more Transform every chunk passes through, and the chunk
   * is written back to disk while the next one arrives (FlushBehind).
   */
  async #writeAt(readable: Readable, id: string, offset: number): Promise<number> {
    const sniff = await this.#sniffFor(id, offset);
    const out = createWriteStream(this.pathOf(id), { flags: 'r+', start: offset });
    let flushedAt = 0;
    let refused: PipelineError | undefined;
    const onData = (chunk: Uint8Array): void => {
      refused ??= sniff?.push(chunk);
      // Failing the file stream fails the whole chain (pipeline destroys the rest), and with it this PATCH.
      if (refused) out.destroy(refused);
      if (out.bytesWritten - flushedAt < FLUSH_EVERY_BYTES) return;
      flushedAt = out.bytesWritten;
      this.#flushes.start(id);
    };
    const writing = pipeline(readable, out);
    readable.on('data', onData);
    try {
      await writing;
    } catch (err) {
      if (refused) await this.#refuse(id, refused);
      if (isDiskFullError(err)) throw diskFullError('The disk filled up while the chunk was being stored.', err);
      // tus's own error for a broken write (a client that went away, an I/O error): what upstream throws.
      throw ERRORS.FILE_WRITE_ERROR;
    } finally {
      readable.off('data', onData);
    }
    if (out.bytesWritten > 0) this.#flushes.start(id);
    return offset + out.bytesWritten;
  }

  /**
   * A HeadSniff when this PATCH writes into the first bytes of an upload whose first bytes are the file's: a single
   * upload, or a partial that says it holds offset 0 of the final upload (FIRST_PART_KEY). Other partials start
   * anywhere in the file; they are judged once joined (sniffJoined), which also catches a first part that did not say.
   */
  async #sniffFor(id: string, offset: number): Promise<HeadSniff | undefined> {
    if (offset >= SNIFF_BYTES) return undefined;
    const info = await this.configstore.get(id);
    if (isPartialId(id) && info?.metadata?.[FIRST_PART_KEY] !== '0') return undefined;
    return HeadSniff.start(this.pathOf(id), offset, info?.size);
  }

  /** Removes a refused upload and throws the refusal as the PATCH's answer. */
  async #refuse(id: string, err: PipelineError): Promise<never> {
    // An upload that could not be removed now is unfinished: the expiry sweep removes it later.
    const removing = this.remove(id).then(
      () => ({ err, removeError: undefined }),
      (removeError: unknown) => ({ err, removeError }),
    );
    this.#refusals.set(id, removing);
    await removing;
    throw err;
  }

  /**
   * For a PATCH on `id` that failed: the refusal and how its removal went, once the files are removed; undefined when
   * `id` was not refused. @tus/server answers as soon as the write stream fails, without waiting for write() to
   * return, so the handler waits here before the client hears the upload is gone.
   */
  async takeRefusal(id: string): Promise<RefusedUpload | undefined> {
    const removing = this.#refusals.get(id);
    this.#refusals.delete(id);
    return removing;
  }

  /**
   * Creates `upload` (size = sum of parts) by streaming the complete partial uploads `partIds` into it in order.
   * Nothing is buffered in memory. The info file is written last, after the data is on disk, so an upload with info
   * is always complete; the partials stay until the caller has recorded the result (see removeParts).
   */
  async concatenate(upload: Upload, partIds: readonly string[]): Promise<Upload> {
    const dest = this.pathOf(upload.id);
    // 'wx': a second request for the same final upload (its id is derived from the parts) must not write over the first.
    const out = createWriteStream(dest, { flags: 'wx' });
    try {
      const joined = new PassThrough();
      const feeding = (async () => {
        for (const id of partIds) await pipeline(createReadStream(this.pathOf(id)), joined, { end: false });
        joined.end();
      })();
      await Promise.all([pipeline(joined, out), feeding]);
    } catch (err) {
      out.destroy();
      await rm(dest, { force: true });
      throw err;
    }
    upload.offset = upload.size ?? 0;
    await this.sync(upload.id);
    await this.configstore.set(upload.id, upload);
    return new Upload({ ...upload, storage: { type: 'file', path: dest } });
  }

  /** FileStore.remove; a removed upload's failed flush no longer matters. */
  override async remove(id: string): Promise<void> {
    await super.remove(id);
    this.#flushes.forget(id);
  }

  /** Deletes concatenated partials (the spec lets the server drop them once the final upload exists). */
  async removeParts(partIds: readonly string[]): Promise<void> {
    for (const id of partIds) {
      await this.remove(id).catch((err: unknown) => {
        // A repeated final request finds them gone already.
        if (err !== ERRORS.FILE_NOT_FOUND) throw err;
      });
    }
  }

  /**
   * Removes expired uploads that are unfinished (or finished partials nobody concatenated). Complete uploads are
   * kept whatever their age: they are videos the pipeline owns from then on. Offset is read from the data file.
   */
  override async deleteExpired(): Promise<number> {
    const ttl = this.getExpiration();
    if (ttl <= 0) return 0;
    const list = this.configstore.list;
    if (!list) throw ERRORS.UNSUPPORTED_EXPIRATION_EXTENSION;
    let removed = 0;
    for (const id of await list.call(this.configstore)) {
      const upload = await this.getUpload(id).catch((err: unknown) => {
        if (err === ERRORS.FILE_NO_LONGER_EXISTS || err === ERRORS.FILE_NOT_FOUND) return undefined;
        throw err;
      });
      if (!upload?.creation_date) continue;
      if (this.#now() <= Date.parse(upload.creation_date) + ttl) continue;
      const complete = upload.size !== undefined && upload.offset === upload.size;
      if (complete && !isPartialId(id)) continue;
      await this.remove(id);
      removed += 1;
    }
    return removed;
  }
}

const isRefusal = (err: unknown): boolean => isPipelineError(err, 'INGEST_NOT_VIDEO_FILE');
