import { PipelineError } from '../../core/errors.ts';
import { invalid, splitBlocks, type Block } from './blocks.ts';
import { sanitizeCueText, timestampMs } from './cue-text.ts';
import { cueSettings, regionSettings } from './settings.ts';
import type { CaptionCue, CaptionDocument, CaptionRegion } from './types.ts';

/** `[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt [settings]` (§4.2.3); hours limited to 3 digits, as no video is 1000 h long. */
const TIMING = /^(?:(\d{2,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})[ \t]+-->[ \t]+(?:(\d{2,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})(?:[ \t]+(.*))?$/;
const HEADER = /^WEBVTT(?:[ \t].*)?$/;

/**
 * CSS in a STYLE block can fetch URLs (url(), @import, image-set) or run legacy script hooks (expression(), behavior,
 * -moz-binding); escapes could spell any of these. A block with none of it is still dropped: players style captions
 * themselves, and the stored file carries no CSS at all.
 */
const DANGEROUS_CSS = /url\s*\(|@import|image-set|expression\s*\(|behavior\s*:|-moz-binding|javascript:|\\/i;

function isKeyword(block: Block, word: string): boolean {
  const first = block.lines[0] ?? '';
  return first === word || first.startsWith(`${word} `) || first.startsWith(`${word}\t`);
}

export interface CueSink {
  (cue: CaptionCue): void;
}

/** A cue block: optional identifier line, timing line, payload lines (§4.2.3). */
function parseCue(block: Block, regions: ReadonlySet<string>, push: CueSink): void {
  const hasId = !(block.lines[0] ?? '').includes('-->');
  const timingIndex = hasId ? 1 : 0;
  const timing = block.lines[timingIndex];
  const line = block.line + timingIndex;
  if (timing === undefined || !timing.includes('-->'))
    throw invalid('A block is neither a cue (no timing line) nor NOTE/STYLE/REGION', block.line);
  const m = TIMING.exec(timing);
  if (!m) throw invalid('Malformed cue timing line', line);
  const startMs = timestampMs(m[1], m[2]!, m[3]!, m[4]!);
  const endMs = timestampMs(m[5], m[6]!, m[7]!, m[8]!);
  const payload = block.lines.slice(timingIndex + 1);
  if (payload.some((l) => l.includes('-->'))) throw invalid('Cue text contains "-->" (a missing blank line between cues?)', line);
  if (payload.length === 0) return; // an empty cue shows nothing; dropping it changes nothing a viewer sees
  const settings = cueSettings(m[9] ?? '', line, regions);
  // Identifiers are not shown and may hold anything; the stored file does not keep them.
  push({ startMs, endMs, settings, line, text: sanitizeCueText(payload.join('\n'), { line: line + 1, startMs, endMs }) });
}

/** Parses normalised WebVTT text (LF line ends, no BOM). Cues are handed to `push` as they are read. */
export function parseWebVtt(text: string, push: CueSink): Pick<CaptionDocument, 'regions'> {
  const blocks = splitBlocks(text);
  const header = blocks[0];
  if (!header || !HEADER.test(header.lines[0] ?? '') || header.line !== 1) throw invalid('The file does not start with "WEBVTT"', 1);
  if (header.lines.some((l) => l.includes('-->'))) throw invalid('A cue follows the header without a blank line', header.line);
  const regions: CaptionRegion[] = [];
  const regionIds = new Set<string>();
  let sawCue = false;
  for (const block of blocks.slice(1)) {
    if (isKeyword(block, 'NOTE')) {
      if (block.lines.some((l) => l.includes('-->'))) throw invalid('A NOTE contains "-->"', block.line);
    } else if (isKeyword(block, 'STYLE') && block.lines[0]!.trim() === 'STYLE') {
      if (block.lines.some((l) => DANGEROUS_CSS.test(l))) {
        throw new PipelineError('INGEST_CAPTION_MARKUP', `STYLE block at line ${block.line} loads resources or escapes.`, {
          line: block.line,
        });
      }
      if (sawCue) throw invalid('STYLE after the first cue', block.line);
    } else if (isKeyword(block, 'REGION') && block.lines[0]!.trim() === 'REGION') {
      if (sawCue) throw invalid('REGION after the first cue', block.line);
      const r = regionSettings(block.lines.slice(1), block.line + 1);
      if (regionIds.has(r.id) || regions.length >= 8) {
        throw new PipelineError('INGEST_CAPTION_MARKUP', `REGION ${r.id} repeated or too many regions.`, { line: block.line });
      }
      regionIds.add(r.id);
      regions.push(r);
    } else {
      sawCue = true;
      parseCue(block, regionIds, push);
    }
  }
  return { regions };
}
