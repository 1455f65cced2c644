import { pino, type Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** Extra bindings on every line (e.g. role). */
  readonly base?: Record<string, unknown>;
}

export function createLogger(o: LoggerOptions): Logger {
  return pino({ level: o.level, base: { ...o.base } });
}
