import { open } from 'node:fs/promises';

/**
 * Writes uploads' bytes back to disk while more of them arrive, so the fsync every complete upload needs before it is
 * recorded (UploadCompletion.complete) finds little left to write. Without it the kernel keeps the whole upload dirty
 * in the page cache (writeback starts after 30 s or at dirty_background_ratio, gigabytes on a big box) and the last
 * PATCH waited for all of it to reach the disk: 80-100 ms for 256 MiB on the dev VM, a tenth of the upload's time.
 *
 * At most one flush runs at a time, across all uploads: a flush holds one of libuv's four threadpool threads for as
 * long as the disk needs, and every file read and write of the process queues for those threads. A flush asked for
 * while one runs is skipped; its bytes go with a later flush or with the final fsync.
 */
export class FlushBehind {
  readonly #pathOf: (id: string) => string;
  #running: { readonly id: string; readonly done: Promise<void> } | undefined;
  /**
   * Failures of flushes nobody has seen yet. Linux reports a writeback error to the descriptors open when it happened,
   * once: the final fsync, on a descriptor opened later, would not see it, so settle() hands it on.
   */
  readonly #failed = new Map<string, unknown>();

  /** `pathOf`: the data file of an upload id. */
  constructor(pathOf: (id: string) => string) {
    this.#pathOf = pathOf;
  }

  /** Starts writing back upload `id`'s data file, unless a flush is running already. Never throws. */
  start(id: string): void {
    if (this.#running) return;
    const done = this.#flush(id).finally(() => {
      this.#running = undefined;
    });
    this.#running = { id, done };
  }

  /** Waits for a running flush of `id`; throws the failure of an earlier one (once), as an fsync would. */
  async settle(id: string): Promise<void> {
    if (this.#running?.id === id) await this.#running.done;
    if (!this.#failed.has(id)) return;
    const err = this.#failed.get(id);
    this.#failed.delete(id);
    throw err;
  }

  /** Forgets a removed upload's unseen failure, including one of a flush still running. */
  forget(id: string): void {
    this.#failed.delete(id);
    if (this.#running?.id === id) void this.#running.done.then(() => this.#failed.delete(id));
  }

  async #flush(id: string): Promise<void> {
    try {
      const handle = await open(this.#pathOf(id), 'r');
      try {
        // fdatasync: the data and the size, not timestamps; the final fsync before the upload is recorded does the rest.
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      // A file removed meanwhile (terminated upload) has nothing left to lose.
      if ((err as { code?: unknown }).code !== 'ENOENT') this.#failed.set(id, err);
    }
  }
}
