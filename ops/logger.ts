import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  /** Extra bindings on every line (e.g. role). */
  readonly base?: Record<string, unknown>;
  /** Where lines go; default stdout (tests pass a stream to read the lines back). */
  readonly destination?: DestinationStream;
}

export function createLogger(o: LoggerOptions): Logger {
  return pino({ level: o.level, base: { ...o.base } }, o.destination);
}
