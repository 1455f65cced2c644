import type { AccessFacts } from './access.ts';

export interface AccessCacheOptions {
  /** Reads one video's access state from Postgres; undefined when the row is gone. */
  readonly load: (videoId: string) => Promise<AccessFacts | undefined>;
  /**
   * How long a loaded state is reused, in ms (PLAYBACK_ACCESS_CACHE_MS); default 2000. This is the revocation bound
   * for API processes other than the one that handled the revoking request. 0 = every request reads Postgres.
   */
  readonly ttlMs?: number;
  /** Most videos kept; the least recently loaded are dropped first. Default 10 000. */
  readonly maxEntries?: number;
  /**
   * Reloads that a lookup asks for (minEpoch, fresh) happen at most this often per video, in ms; default 100. Requests
   * with a revoked URL keep coming until the player gives up, and each must not cost a query.
   */
  readonly reloadFloorMs?: number;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

export interface AccessLookup {
  /** Reload when the cached state has an older epoch: the URL was issued after our load, so our copy is stale. */
  readonly minEpoch?: number;
  /** Reload unless just loaded: the caller is about to refuse, and a refusal should rest on the current row. */
  readonly fresh?: boolean;
}

interface Entry {
  readonly loadedAt: number;
  readonly state: Promise<AccessFacts | undefined>;
}

/**
 * Per-video access state for the HLS route. A player fetches a segment every few seconds per rendition, so each of
 * those must not cost a Postgres round trip; a short TTL keeps revocation prompt. Concurrent misses for one video
 * share a single query. Deleted videos are cached too (as undefined), so a dead link is as cheap to refuse.
 */
export class AccessStateCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly reloadFloorMs: number;
  private readonly now: () => number;

  constructor(private readonly o: AccessCacheOptions) {
    this.ttlMs = o.ttlMs ?? 2000;
    this.maxEntries = o.maxEntries ?? 10_000;
    this.reloadFloorMs = o.reloadFloorMs ?? 100;
    this.now = o.now ?? Date.now;
  }

  async get(videoId: string, q: AccessLookup = {}): Promise<AccessFacts | undefined> {
    const now = this.now();
    const hit = this.entries.get(videoId);
    if (hit && now - hit.loadedAt < this.ttlMs) {
      const mayReload = now - hit.loadedAt >= this.reloadFloorMs;
      if (!mayReload || !q.fresh) {
        const state = await hit.state;
        const stale = q.minEpoch !== undefined && state !== undefined && state.access_epoch < q.minEpoch;
        if (!mayReload || !stale) return state;
      }
    }
    return this.load(videoId, now);
  }

  /** Forget a video's state: the process that changed it stops serving old URLs at once instead of after the TTL. */
  invalidate(videoId: string): void {
    this.entries.delete(videoId);
  }

  private load(videoId: string, now: number): Promise<AccessFacts | undefined> {
    const state = this.o.load(videoId);
    const entry = { loadedAt: now, state };
    this.entries.delete(videoId); // re-inserted last: Map order is load order, so the oldest entry goes first
    this.entries.set(videoId, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // A failed read is not cached: the next request tries Postgres again.
    state.catch(() => {
      if (this.entries.get(videoId) === entry) this.entries.delete(videoId);
    });
    return state;
  }
}
