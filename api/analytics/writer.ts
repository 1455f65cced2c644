import type { RawBatch } from '../../db/analytics.ts';

/**
 * Group commit for beacons: while `concurrency` INSERTs are running, arriving beacons queue up, and the next INSERT
 * takes all of them (one statement, one transaction, one WAL flush). An idle writer writes a beacon at once, so a quiet
 * server adds no delay; a busy one writes fewer, bigger statements instead of queueing one transaction per beacon,
 * which is what keeps the database from becoming the queue at hundreds of beacons a second.
 */
export interface BeaconWriterOptions {
  /** Stores several beacons' events in one statement. */
  readonly insert: (batches: readonly RawBatch[]) => Promise<void>;
  /** INSERTs running at once; default 2 (a few of the pool's connections, the rest stay free for reads). */
  readonly concurrency?: number;
}

interface Pending {
  readonly batches: RawBatch[];
  events: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class BeaconWriter {
  private pending: Pending | undefined;
  private readonly writes = new Set<Promise<void>>();
  private queued = 0;

  constructor(private readonly o: BeaconWriterOptions) {}

  /** Resolves once `b` is stored (or rejects with the INSERT's error, for every beacon of the group). */
  write(b: RawBatch): Promise<void> {
    const p = (this.pending ??= this.open());
    p.batches.push(b);
    p.events += b.events.length;
    this.queued += b.events.length;
    if (this.writes.size < (this.o.concurrency ?? 2)) this.flush();
    return p.done;
  }

  /** Events accepted but not yet written (queued or in a running INSERT). */
  get backlog(): number {
    return this.queued;
  }

  /** Writes the open group now; resolves when every write started so far has finished (readers call it first). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.writes]);
  }

  private open(): Pending {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The group's callers get its error; this only keeps it from counting as unhandled when drain() wrote the group.
    done.catch(() => undefined);
    return { batches: [], events: 0, done, resolve, reject };
  }

  private flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const w = this.o.insert(p.batches).then(p.resolve, p.reject);
    this.writes.add(w);
    void w.finally(() => {
      this.writes.delete(w);
      this.queued -= p.events;
      // What queued up meanwhile goes out as the next group.
      if (this.pending) this.flush();
    });
  }
}
