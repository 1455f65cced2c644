import { PipelineError } from '../../core/errors.ts';
import { invalid, splitBlocks } from './blocks.ts';
import { sanitizeCueText, timestampMs } from './cue-text.ts';
import type { CueSink } from './webvtt.ts';

/** `hh:mm:ss,mmm --> hh:mm:ss,mmm`, with `.` accepted too and SubRip's optional X1/Y1 box (dropped). */
const TIMING =
  /^(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{3})[ \t]+-->[ \t]+(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{3})(?:[ \t]+X1:\d+[ \t]+X2:\d+[ \t]+Y1:\d+[ \t]+Y2:\d+)?$/;

/** The formatting tags SubRip players know and WebVTT has too. */
const KEPT = /^<\/?([ibu])>$/i;
/** `<font color=…>` is common in SubRip and has no WebVTT form: its colour is dropped, the text kept. */
const FONT = /^<\/?font(?:\s[^<>]*)?>$/i;

/**
 * SubRip text → WebVTT cue text. SubRip has no escaping: a `<` that starts no tag and every `&` are literal, and are
 * escaped; `{\an8}`-style positioning overrides are dropped; i/b/u are kept and font tags stripped; any other tag
 * (HTML, scripts) is refused. The result then goes through the same WebVTT cue-text check as uploaded WebVTT.
 */
function srtTextToVtt(text: string, line: number): string {
  const stripped = text.replace(/\{\\[^{}]{0,40}\}/g, '');
  return stripped.replace(/<[^<>]*>|[<>&]/g, (tok) => {
    if (tok === '&') return '&amp;';
    if (tok === '<') return '&lt;';
    if (tok === '>') return '&gt;';
    const kept = KEPT.exec(tok);
    if (kept) return tok.startsWith('</') ? `</${kept[1]!.toLowerCase()}>` : `<${kept[1]!.toLowerCase()}>`;
    if (FONT.test(tok)) return '';
    if (/^<[\s\d=.,:;-]/.test(tok)) return tok.replace(/</g, '&lt;').replace(/>/g, '&gt;'); // "a <3 b", "x < y > z": not tags
    throw new PipelineError('INGEST_CAPTION_MARKUP', `Tag ${tok.slice(0, 20)} at line ${line} is not allowed in captions.`, {
      line,
      tag: tok.slice(0, 40),
    });
  });
}

/** Parses normalised SubRip text: numbered blocks of a timing line and text lines. */
export function parseSrt(text: string, push: CueSink): void {
  const blocks = splitBlocks(text);
  if (!blocks.length) throw invalid('The file holds no cues', 1);
  for (const block of blocks) {
    // The counter line is optional in practice (many tools omit or renumber it); it is never kept.
    const numbered = /^\d{1,9}$/.test(block.lines[0] ?? '');
    const timingIndex = numbered ? 1 : 0;
    const line = block.line + timingIndex;
    const m = TIMING.exec(block.lines[timingIndex] ?? '');
    if (!m) throw invalid('Malformed SubRip timing line', line);
    const payload = block.lines.slice(timingIndex + 1);
    if (payload.some((l) => l.includes('-->'))) throw invalid('Cue text contains "-->" (a missing blank line between cues?)', line);
    if (!payload.length) continue;
    const startMs = timestampMs(m[1], m[2]!, m[3]!, m[4]!);
    const endMs = timestampMs(m[5], m[6]!, m[7]!, m[8]!);
    const vtt = srtTextToVtt(payload.join('\n'), line + 1);
    push({ startMs, endMs, settings: '', line, text: sanitizeCueText(vtt, { line: line + 1, startMs, endMs }) });
  }
}
