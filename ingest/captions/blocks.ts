import { PipelineError } from '../../core/errors.ts';

/** Lines between blank lines, with the 1-based number of the first one (for error context). */
export interface Block {
  readonly line: number;
  readonly lines: readonly string[];
}

/**
 * Splits normalised text (LF only) into blocks. A line of only spaces and tabs counts as blank: the spec would make it
 * part of a cue, but authoring tools write them by accident and no caption needs one.
 */
export function splitBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let current: string[] = [];
  let start = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/[ \t]+$/, '');
    if (line === '') {
      if (current.length) blocks.push({ line: start, lines: current });
      current = [];
      return;
    }
    if (!current.length) start = i + 1;
    current.push(line);
  });
  if (current.length) blocks.push({ line: start, lines: current });
  return blocks;
}

export function invalid(reason: string, line: number): PipelineError {
  return new PipelineError('INGEST_CAPTION_INVALID', `${reason} (line ${line}).`, { line, reason });
}

/** Formats ms as a WebVTT timestamp, hours always written (HH:MM:SS.mmm). */
export function formatTimestamp(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}
