import { PipelineError } from '../../core/errors.ts';

/**
 * Cue text as WebVTT allows it (W3C WebVTT §4.2.2 "cue text"): spans c, i, b, u, ruby/rt, v and lang, timestamp tags,
 * and character references. Anything else is refused rather than passed on: captions are shown to children, and a
 * player that renders cue text as HTML (or a future one that does) must never get markup we did not vet. The text is
 * re-serialised from the parsed tokens, so what we store is exactly what we checked.
 */

/** Span tags of the spec and whether they carry an annotation (`<v Speaker>`, `<lang en>`). */
const SPANS: Readonly<Record<string, 'annotation' | 'plain'>> = {
  c: 'plain',
  i: 'plain',
  b: 'plain',
  u: 'plain',
  ruby: 'plain',
  rt: 'plain',
  v: 'annotation',
  lang: 'annotation',
};

/**
 * Named references kept: the ones a caption needs (escaped `& < >`, direction marks, no-break space). The HTML list has
 * over 2,000 names; accepting only these keeps the re-serialised text unambiguous.
 */
const ENTITIES: Readonly<Record<string, string>> = { amp: '&amp;', lt: '&lt;', gt: '&gt;', lrm: '&lrm;', rlm: '&rlm;', nbsp: '&nbsp;' };

const CLASS = /^[A-Za-z0-9_-]{1,32}$/;
/** Annotation text (speaker name, language tag): printable, no markup characters, bounded. */
const ANNOTATION = /^[^<>&"\p{Cc}]{1,64}$/u;
const TIMESTAMP_TAG = /^(?:(\d{2,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;

export interface CueTextContext {
  /** 1-based line of the cue's first text line, for error context. */
  readonly line: number;
  /** Cue start and end in ms: a timestamp tag must fall inside them (§4.2.2). */
  readonly startMs: number;
  readonly endMs: number;
}

function markup(reason: string, ctx: CueTextContext, extra: Record<string, unknown> = {}): PipelineError {
  return new PipelineError('INGEST_CAPTION_MARKUP', `Cue text at line ${ctx.line}: ${reason}.`, { line: ctx.line, reason, ...extra });
}

export function timestampMs(h: string | undefined, m: string, s: string, ms: string): number {
  return ((Number(h ?? 0) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms);
}

/** Escapes text for the canonical output: only our own references and tags reach the file. */
const escapeText = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `&name;` or `&#123;` / `&#x1F600;` at `i`; undefined when the `&` starts no reference (then it is a literal `&`). */
function reference(text: string, i: number, ctx: CueTextContext): { out: string; len: number } | undefined {
  const m = /^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});/.exec(text.slice(i, i + 40));
  if (!m) return undefined;
  const body = m[1]!;
  if (!body.startsWith('#')) {
    const named = ENTITIES[body];
    if (!named) throw markup(`character reference &${body}; is not allowed`, ctx);
    return { out: named, len: m[0].length };
  }
  const cp = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
  // Control characters and surrogates stay out whichever way they are spelled.
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
    throw markup(`character reference &${body}; names a forbidden character`, ctx);
  }
  return { out: escapeText(String.fromCodePoint(cp)), len: m[0].length };
}

/** One tag's inside (between `<` and `>`): the canonical tag, and how it changes the open-span stack. */
function tag(inner: string, stack: string[], ctx: CueTextContext): string {
  const ts = TIMESTAMP_TAG.exec(inner);
  if (ts) {
    const at = timestampMs(ts[1], ts[2]!, ts[3]!, ts[4]!);
    if (at < ctx.startMs || at > ctx.endMs) throw markup('timestamp tag outside the cue', ctx, { tag: inner.slice(0, 40) });
    return `<${inner}>`;
  }
  if (inner.startsWith('/')) {
    const name = inner.slice(1);
    if (stack[stack.length - 1] !== name) throw markup(`end tag </${name.slice(0, 20)}> does not close the open span`, ctx);
    stack.pop();
    return `</${name}>`;
  }
  const m = /^([a-z]+)((?:\.[^.\s]+)*)(?:[ \t]+(.*))?$/s.exec(inner);
  const name = m?.[1] ?? '';
  const kind = SPANS[name];
  if (!m || !kind) throw markup(`tag <${inner.slice(0, 20)}> is not a WebVTT cue span`, ctx, { tag: inner.slice(0, 40) });
  const classes = (m[2] ?? '').split('.').filter((c) => c !== '');
  if (classes.length > 4 || !classes.every((c) => CLASS.test(c))) throw markup(`class list of <${name}> is not allowed`, ctx);
  const annotation = (m[3] ?? '').trim();
  if (kind === 'plain' && annotation) throw markup(`<${name}> takes no annotation`, ctx);
  if (kind === 'annotation' && annotation && !ANNOTATION.test(annotation)) throw markup(`annotation of <${name}> is not allowed`, ctx);
  if (name === 'rt' && stack[stack.length - 1] !== 'ruby') throw markup('<rt> outside <ruby>', ctx);
  if (stack.length >= 8) throw markup('spans nested too deeply', ctx);
  stack.push(name);
  return `<${name}${classes.map((c) => `.${c}`).join('')}${annotation ? ` ${annotation}` : ''}>`;
}

/**
 * Vets one cue's text (its lines joined by "\n") and returns it re-serialised: allowed tags normalised, spans still
 * open at the end closed, literal `<`, `>`, `&` escaped. Throws INGEST_CAPTION_MARKUP for anything else.
 */
export function sanitizeCueText(text: string, ctx: CueTextContext): string {
  let out = '';
  const stack: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '<') {
      const close = text.indexOf('>', i + 1);
      const next = text.indexOf('<', i + 1);
      // "<" that opens no tag (no ">" before the next "<" or the end): HTML parsers and VTT parsers disagree on it.
      if (close < 0 || (next >= 0 && next < close)) throw markup('unterminated tag', ctx);
      out += tag(text.slice(i + 1, close), stack, ctx);
      i = close + 1;
    } else if (ch === '&') {
      const ref = reference(text, i, ctx);
      out += ref ? ref.out : '&amp;';
      i += ref ? ref.len : 1;
    } else {
      out += ch === '>' ? '&gt;' : ch;
      i++;
    }
  }
  for (let s = stack.pop(); s !== undefined; s = stack.pop()) out += `</${s}>`;
  return out;
}

/** The cue's visible characters (tags and references resolved roughly), for the per-line length cap. */
export function visibleLength(line: string): number {
  return [...line.replace(/<[^>]*>/g, '').replace(/&[^;\s]{1,32};/g, 'x')].length;
}
