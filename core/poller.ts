/** A periodic task started by startPoller. */
export interface Poller {
  /** Stops the timer and waits for a run in flight. Idempotent. */
  stop(): Promise<void>;
  /**
   * Asks for a run now, outside the timer (something changed): it starts at once, or right after the run in flight.
   * Kicks while a run is in flight fold into that one follow-up. No-op once stopped.
   */
  kick(): void;
  /** False once stop() was called: a run that finds this false should start nothing new. */
  readonly active: boolean;
}

/** Why a run started: the timer's tick, or a kick(). */
export type PollReason = 'tick' | 'kick';

/**
 * Runs `run` now and then every `ms` until stop(), never two at once: a tick that finds the previous run still busy
 * (big segments, slow storage) is skipped rather than queued behind it; a kick is queued (once), because it says there
 * is new work the running pass may have missed. The timer does not keep the process alive. `run` handles its own
 * errors; one that escapes ends only that run.
 */
export function startPoller(run: (reason: PollReason) => Promise<void>, ms: number): Poller {
  let busy = false;
  let active = true;
  let kicked = false;
  let running: Promise<void> = Promise.resolve();
  const start = (reason: PollReason): void => {
    busy = true;
    running = running
      .then(() => run(reason))
      .catch(() => undefined)
      .finally(() => {
        busy = false;
        if (kicked && active) {
          kicked = false;
          start('kick');
        }
      });
  };
  const tick = (): void => {
    if (busy || !active) return;
    start('tick');
  };
  const timer = setInterval(tick, ms);
  timer.unref();
  tick();
  return {
    get active() {
      return active;
    },
    kick: () => {
      if (!active) return;
      if (busy) kicked = true;
      else start('kick');
    },
    stop: async () => {
      active = false;
      clearInterval(timer);
      // A follow-up queued by a kick chains onto `running` only when the run before it settles: wait until none is.
      while (busy) await running;
    },
  };
}
