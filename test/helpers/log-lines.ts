import { Writable } from 'node:stream';

/** One parsed pino line: `msg` plus whatever bindings it carried. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: string };

/** A pino destination that keeps every line, parsed, so a test can wait for the one it expects. */
export function logLines(): { stream: Writable; lines: LogLine[]; find(msg: string | RegExp): LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const find = (msg: string | RegExp): LogLine[] =>
    lines.filter((l) => typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  return { stream, lines, find };
}
