import type { Logger } from 'pino';
import { describeError } from '../core/errors.ts';

/**
 * What a composition root must undo, in reverse order of creation. close() is memoised and runs every cleanup even
 * when an earlier one throws (the error is logged), so a half-started process still releases what it got.
 */
export class Cleanups {
  readonly #fns: Array<() => Promise<unknown>> = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly logger: Pick<Logger, 'error'>) {}

  push(fn: () => Promise<unknown>): void {
    this.#fns.push(fn);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const fn of this.#fns.reverse()) {
        await fn().catch((err: unknown) => this.logger.error({ err: describeError(err) }, 'cleanup failed'));
      }
    })();
    return this.#closing;
  }
}
