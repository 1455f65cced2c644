/**
 * The logging every stage needs, as a minimal shape that pino's Logger satisfies. Modules take it as an option and
 * know nothing about the logging library; ops/ creates the pino instances and passes them down.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}
