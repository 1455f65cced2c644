/** A periodic task started by startPoller. */
export interface Poller {
  /** Stops the timer and waits for a run in flight. Idempotent. */
  stop(): Promise<void>;
  /** False once stop() was called: a run that finds this false should start nothing new. */
  readonly active: boolean;
}

/**
 * Runs `run` now and then every `ms` until stop(), never two at once: a tick that finds the previous run still busy
 * (big segments, slow storage) is skipped rather than queued behind it. The timer does not keep the process alive.
 * `run` handles its own errors; one that escapes ends only that run.
 */
export function startPoller(run: () => Promise<void>, ms: number): Poller {
  let busy = false;
  let active = true;
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    if (busy || !active) return;
    busy = true;
    running = running
      .then(run)
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, ms);
  timer.unref();
  tick();
  return {
    get active() {
      return active;
    },
    stop: async () => {
      active = false;
      clearInterval(timer);
      await running;
    },
  };
}
