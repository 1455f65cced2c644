import { describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { parseCaptions, renderWebVtt, type CaptionFormat, type CaptionLimits } from '../captions/captions.ts';

const LIMITS: CaptionLimits = { durationMs: 10_000 };
const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const vtt = (body: string): Buffer => enc(`WEBVTT\n\n${body}`);

function codeOf(bytes: Uint8Array, format: CaptionFormat = 'vtt', limits: CaptionLimits = LIMITS): string | undefined {
  try {
    parseCaptions(bytes, format, limits);
    return undefined;
  } catch (err) {
    if (isPipelineError(err)) return err.code;
    throw err;
  }
}
const render = (bytes: Uint8Array, format: CaptionFormat = 'vtt'): string => renderWebVtt(parseCaptions(bytes, format, LIMITS));

describe('caption parser', () => {
  it('keeps spec cue text and settings, drops ids, notes and styles, and re-serialises', () => {
    const text = [
      'WEBVTT - kids',
      'Kind: captions',
      '',
      'NOTE written by a parent',
      '',
      'STYLE',
      '::cue { color: yellow }',
      '',
      'REGION',
      'id:top width:40% lines:3 regionanchor:0%,100% viewportanchor:10%,90% scroll:up',
      '',
      'intro',
      '00:01.000 --> 00:02.500 line:0 align:start region:top',
      '<v.loud Mum>Hello</v> <i>there</i> &amp; <c.yellow.big>welcome</c>',
      '<ruby>漢<rt>kan</rt></ruby> <lang en-GB>colour</lang> <00:00:01.500><b>now</b>',
      '',
      '00:00:00.000 --> 00:00:00.900',
      'Tom & Jerry 5 > 3',
      '',
    ].join('\n');
    expect(render(enc(text))).toBe(
      [
        'WEBVTT',
        '',
        'REGION',
        'id:top\nwidth:40%\nlines:3\nregionanchor:0%,100%\nviewportanchor:10%,90%\nscroll:up',
        '',
        '00:00:00.000 --> 00:00:00.900',
        'Tom &amp; Jerry 5 &gt; 3',
        '',
        '00:00:01.000 --> 00:00:02.500 line:0 align:start region:top',
        '<v.loud Mum>Hello</v> <i>there</i> &amp; <c.yellow.big>welcome</c>',
        '<ruby>漢<rt>kan</rt></ruby> <lang en-GB>colour</lang> <00:00:01.500><b>now</b>',
        '',
      ].join('\n'),
    );
  });

  it('handles a BOM, CRLF and lone CR line ends, and closes spans left open', () => {
    const text = '\uFEFFWEBVTT\r\n\r\n00:00.000 --> 00:01.000\r\n<i>open\r\rNOTE x\r';
    expect(render(enc(text))).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<i>open</i>\n');
  });

  it('converts SubRip: comma times, i/b/u kept, font and {\\an8} stripped, literal < & escaped, cues sorted', () => {
    const srt = [
      '2',
      '00:00:03,000 --> 00:00:04,000',
      '<font color="#ff0000">{\\an8}Red</font> <I>it</I> a <3 b & c',
      '',
      '1',
      '00:00:01,000 --> 00:00:02,000 X1:10 X2:20 Y1:30 Y2:40',
      'First',
      '',
    ].join('\r\n');
    expect(render(enc(srt), 'srt')).toBe(
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nFirst\n\n00:00:03.000 --> 00:00:04.000\nRed <i>it</i> a &lt;3 b &amp; c\n',
    );
  });

  it.each<[string, string, CaptionFormat?]>([
    ['<script>alert(1)</script>', 'INGEST_CAPTION_MARKUP'],
    ['<img src=x onerror=alert(1)>', 'INGEST_CAPTION_MARKUP'],
    ['<b onclick="x">hi</b>', 'INGEST_CAPTION_MARKUP'],
    ['<a href="javascript:alert(1)">x</a>', 'INGEST_CAPTION_MARKUP'],
    ['<i>x</b>', 'INGEST_CAPTION_MARKUP'],
    ['<rt>no ruby</rt>', 'INGEST_CAPTION_MARKUP'],
    ['<c.a"b>x</c>', 'INGEST_CAPTION_MARKUP'],
    ['<v Mum<b>>x</v>', 'INGEST_CAPTION_MARKUP'],
    ['unclosed <i', 'INGEST_CAPTION_MARKUP'],
    ['&copy; &#0; &#x1b;', 'INGEST_CAPTION_MARKUP'],
    ['<00:00:09.000>late tag', 'INGEST_CAPTION_MARKUP'],
    ['<svg><script>x</script></svg>', 'INGEST_CAPTION_MARKUP'],
  ])('refuses cue text %j', (text, code) => {
    expect(codeOf(vtt(`00:00.000 --> 00:01.000\n${text}\n`))).toBe(code);
  });

  it.each<[string, string, Buffer]>([
    [
      'STYLE with url()',
      'INGEST_CAPTION_MARKUP',
      vtt('STYLE\n::cue { background: url(https://x.example/a.png) }\n\n00:00.000 --> 00:01.000\nx\n'),
    ],
    ['STYLE with @import', 'INGEST_CAPTION_MARKUP', vtt('STYLE\n@import "x.css";\n\n00:00.000 --> 00:01.000\nx\n')],
    ['STYLE with a CSS escape', 'INGEST_CAPTION_MARKUP', vtt('STYLE\n::cue { background: u\\72l(x) }\n\n00:00.000 --> 00:01.000\nx\n')],
    ['REGION with an unknown setting', 'INGEST_CAPTION_MARKUP', vtt('REGION\nid:r onload:x\n\n00:00.000 --> 00:01.000\nx\n')],
    ['REGION width over 100%', 'INGEST_CAPTION_MARKUP', vtt('REGION\nid:r width:400%\n\n00:00.000 --> 00:01.000\nx\n')],
    ['REGION without id', 'INGEST_CAPTION_MARKUP', vtt('REGION\nwidth:40%\n\n00:00.000 --> 00:01.000\nx\n')],
    ['cue naming an undefined region', 'INGEST_CAPTION_MARKUP', vtt('00:00.000 --> 00:01.000 region:nope\nx\n')],
    ['unknown cue setting', 'INGEST_CAPTION_MARKUP', vtt('00:00.000 --> 00:01.000 style:color:red\nx\n')],
    ['repeated cue setting', 'INGEST_CAPTION_MARKUP', vtt('00:00.000 --> 00:01.000 align:start align:end\nx\n')],
    ['missing header', 'INGEST_CAPTION_INVALID', enc('00:00.000 --> 00:01.000\nx\n')],
    ['HTML document', 'INGEST_CAPTION_INVALID', enc('<html><body>hi</body></html>')],
    ['header glued to a cue', 'INGEST_CAPTION_INVALID', enc('WEBVTT\n00:00.000 --> 00:01.000\nx\n')],
    ['malformed timing', 'INGEST_CAPTION_INVALID', vtt('00:00 --> 00:01.000\nx\n')],
    ['minutes over 59', 'INGEST_CAPTION_INVALID', vtt('00:61.000 --> 00:62.000\nx\n')],
    ['two cues without a blank line', 'INGEST_CAPTION_INVALID', vtt('00:00.000 --> 00:01.000\nx\n00:01.000 --> 00:02.000\ny\n')],
    ['no cues at all', 'INGEST_CAPTION_INVALID', enc('WEBVTT\n\nNOTE only a note\n')],
    ['cue ending before it starts', 'INGEST_CAPTION_TIMING', vtt('00:02.000 --> 00:01.000\nx\n')],
    ['cue past the video', 'INGEST_CAPTION_TIMING', vtt('00:09.000 --> 00:11.000\nx\n')],
    ['Latin-1 bytes', 'INGEST_CAPTION_ENCODING', Buffer.concat([vtt('00:00.000 --> 00:01.000\ncaf'), Buffer.from([0xe9, 0x0a])])],
    ['UTF-16 with BOM', 'INGEST_CAPTION_ENCODING', Buffer.from('\uFEFFWEBVTT\n', 'utf16le')],
    ['overlong UTF-8 "<"', 'INGEST_CAPTION_ENCODING', Buffer.concat([vtt('00:00.000 --> 00:01.000\n'), Buffer.from([0xc0, 0xbc])])],
    ['NUL byte', 'INGEST_CAPTION_ENCODING', vtt('00:00.000 --> 00:01.000\na\u0000b\n')],
    ['ANSI escape', 'INGEST_CAPTION_ENCODING', vtt('00:00.000 --> 00:01.000\n\u001b[31mred\n')],
    ['a long line', 'INGEST_CAPTION_TOO_LARGE', vtt(`00:00.000 --> 00:01.000\n${'a'.repeat(121)}\n`)],
    ['too many lines in a cue', 'INGEST_CAPTION_TOO_LARGE', vtt('00:00.000 --> 00:01.000\na\nb\nc\nd\ne\n')],
    ['too many bytes', 'INGEST_CAPTION_TOO_LARGE', vtt(`NOTE ${'x'.repeat(600 * 1024)}\n`)],
  ])('refuses %s', (_what, code, bytes) => {
    expect(codeOf(bytes)).toBe(code);
  });

  it('caps the cue count before reading the whole file', () => {
    const cues = Array.from({ length: 11 }, (_, i) => `00:00:0${Math.min(i, 9)}.000 --> 00:00:0${Math.min(i, 9)}.500\nc${i}\n`).join('\n');
    expect(codeOf(vtt(cues), 'vtt', { durationMs: 10_000, maxCues: 10 })).toBe('INGEST_CAPTION_TOO_LARGE');
  });

  it.each<[string, string]>([
    ['an HTML tag in SubRip', '1\n00:00:00,000 --> 00:00:01,000\n<script>x</script>\n'],
    ['an image in SubRip', '1\n00:00:00,000 --> 00:00:01,000\n<img src=x>\n'],
    ['a broken SubRip timing', '1\n00:00:00 --> 00:00:01,000\nx\n'],
    ['SubRip past the video', '1\n00:00:09,000 --> 00:00:12,000\nx\n'],
  ])('refuses %s', (_what, text) => {
    expect(codeOf(enc(text), 'srt')).toMatch(/^INGEST_CAPTION_(MARKUP|INVALID|TIMING)$/);
  });

  it('drops a SubRip line that held only override tags instead of ending the cue early', () => {
    expect(render(enc('1\n00:00:00,000 --> 00:00:01,000\n{\\an8}\nNOTE\n'), 'srt')).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nNOTE\n');
  });

  it('never fails other than with a caption code on mangled files, and its output parses back to itself', () => {
    const base = enc(
      'WEBVTT\n\nREGION\nid:r width:40%\n\n00:00.000 --> 00:01.000 region:r align:start\n<v.a Mum>Hi</v> &amp; <c.x>yo</c>\n\n00:01.000 --> 00:02.000\n<ruby>a<rt>b</rt></ruby>\n',
    );
    // A fixed-seed generator: the same mangled files on every run.
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = Buffer.from('<>&;/.:- \n\r\t"=%#x0aWEBVTT\u00ff');
    let parsed = 0;
    for (let i = 0; i < 400; i++) {
      const bytes = Buffer.from(base);
      for (let j = 0, n = 1 + rand(4); j < n; j++) bytes[rand(bytes.length)] = alphabet[rand(alphabet.length)]!;
      try {
        const out = render(bytes);
        parsed++;
        expect(render(enc(out))).toBe(out);
      } catch (err) {
        if (!isPipelineError(err)) throw err;
        expect(err.code).toMatch(/^INGEST_CAPTION_/);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
