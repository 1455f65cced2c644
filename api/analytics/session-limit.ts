/**
 * Beacons per session per window, in memory. Two generations of counters (current and previous window) keep memory
 * bounded by the sessions active in the last two windows, with no timers. Per API process: with several processes a
 * session may get up to n × max, which still bounds what one token can write.
 */
export interface SessionLimitOptions {
  /** Beacons a session may send per window (ANALYTICS_SESSION_RATE_MAX). */
  readonly max: number;
  /** Window length in ms (RATE_LIMIT_WINDOW_MS). */
  readonly windowMs: number;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

export class SessionLimit {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowStart: number;
  private readonly now: () => number;

  constructor(private readonly o: SessionLimitOptions) {
    this.now = o.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** Counts one beacon of `session`; false when it is over its budget (the beacon is then not counted). */
  take(session: string): boolean {
    const t = this.now();
    const passed = Math.floor((t - this.windowStart) / this.o.windowMs);
    if (passed >= 1) {
      // Windows stay aligned to the first one; after a whole idle window both generations are dropped.
      this.previous = passed === 1 ? this.current : new Map();
      this.current = new Map();
      this.windowStart += passed * this.o.windowMs;
    }
    // Sliding estimate: the previous window's count weighs by how much of it still overlaps the sliding window.
    const weight = 1 - (t - this.windowStart) / this.o.windowMs;
    const used = (this.current.get(session) ?? 0) + Math.floor((this.previous.get(session) ?? 0) * weight);
    if (used >= this.o.max) return false;
    this.current.set(session, (this.current.get(session) ?? 0) + 1);
    return true;
  }
}
