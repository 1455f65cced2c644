import { PipelineError } from '../../core/errors.ts';
import { formatTimestamp } from './blocks.ts';
import { visibleLength } from './cue-text.ts';
import { parseSrt } from './srt.ts';
import type { CaptionCue, CaptionDocument, CaptionFormat, CaptionLimits } from './types.ts';
import { parseWebVtt } from './webvtt.ts';

export type { CaptionCue, CaptionDocument, CaptionFormat, CaptionLimits, CaptionRegion } from './types.ts';

export const CAPTION_DEFAULTS = { maxBytes: 512 * 1024, maxCues: 5000, maxLinesPerCue: 4, maxLineChars: 120, toleranceMs: 500 } as const;

/**
 * C0 and C1 controls other than tab and line ends, DEL, and noncharacters: none belongs in a caption, and some
 * (NUL, escape sequences) confuse the tools that read captions after us.
 */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]/;

function tooLarge(limit: string, value: number, max: number, line?: number): PipelineError {
  return new PipelineError('INGEST_CAPTION_TOO_LARGE', `${limit} is ${value}, at most ${max} allowed.`, { limit, value, max, line });
}

/**
 * Bytes → text: UTF-8 only (decoded strictly, so overlong forms and lone surrogates are refused, not replaced), one
 * leading BOM dropped, CRLF and lone CR turned into LF (§4.1 allows all three line ends).
 */
export function decodeCaptionBytes(bytes: Uint8Array, maxBytes: number = CAPTION_DEFAULTS.maxBytes): string {
  if (bytes.length > maxBytes) throw tooLarge('bytes', bytes.length, maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new PipelineError('INGEST_CAPTION_ENCODING', 'The file is not valid UTF-8.', {}, { cause: err });
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const bad = CONTROL.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split(/\r\n|\r|\n/).length;
    throw new PipelineError('INGEST_CAPTION_ENCODING', `Control character U+${bad[0].charCodeAt(0).toString(16)} at line ${line}.`, {
      line,
    });
  }
  return text.replace(/\r\n?/g, '\n');
}

function checkCue(c: CaptionCue, l: Required<CaptionLimits>): void {
  if (c.endMs <= c.startMs) {
    throw new PipelineError('INGEST_CAPTION_TIMING', `Cue at line ${c.line} ends before it starts.`, { line: c.line });
  }
  if (c.endMs > l.durationMs + l.toleranceMs) {
    throw new PipelineError('INGEST_CAPTION_TIMING', `Cue at line ${c.line} ends after the video (${l.durationMs} ms).`, {
      line: c.line,
      endMs: c.endMs,
      durationMs: l.durationMs,
    });
  }
  const lines = c.text.split('\n');
  if (lines.length > l.maxLinesPerCue) throw tooLarge('linesPerCue', lines.length, l.maxLinesPerCue, c.line);
  for (const t of lines) {
    const n = visibleLength(t);
    if (n > l.maxLineChars) throw tooLarge('lineChars', n, l.maxLineChars, c.line);
  }
}

/**
 * Parses an uploaded WebVTT or SubRip file strictly and returns its vetted cues, sorted by start time (WebVTT §4.2.3
 * wants them in order; SubRip files are often not). Every refusal is an INGEST_CAPTION_* code with the line.
 */
export function parseCaptions(bytes: Uint8Array, format: CaptionFormat, limits: CaptionLimits): CaptionDocument {
  const l: Required<CaptionLimits> = { ...CAPTION_DEFAULTS, ...limits };
  const text = decodeCaptionBytes(bytes, l.maxBytes);
  const cues: CaptionCue[] = [];
  const push = (c: CaptionCue): void => {
    if (cues.length >= l.maxCues) throw tooLarge('cues', cues.length + 1, l.maxCues, c.line);
    // A line left empty (SubRip override tags only) would end the cue early in the stored file.
    const text = c.text
      .split('\n')
      .filter((t) => t.trim() !== '')
      .join('\n');
    if (text === '') return;
    checkCue({ ...c, text }, l);
    cues.push({ ...c, text });
  };
  const regions = format === 'vtt' ? parseWebVtt(text, push).regions : (parseSrt(text, push), []);
  if (!cues.length) throw new PipelineError('INGEST_CAPTION_INVALID', 'The file holds no cue with text.', { line: 1, reason: 'no cues' });
  cues.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  return { regions, cues };
}

/** The canonical WebVTT of a vetted document: header, regions, cues; no identifiers, notes, styles or header text. */
export function renderWebVtt(doc: CaptionDocument): string {
  const parts = ['WEBVTT', ''];
  for (const r of doc.regions) parts.push('REGION', r.settings, '');
  for (const c of doc.cues) {
    parts.push(`${formatTimestamp(c.startMs)} --> ${formatTimestamp(c.endMs)}${c.settings ? ` ${c.settings}` : ''}`, c.text, '');
  }
  return parts.join('\n');
}
