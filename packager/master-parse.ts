import { PipelineError } from '../core/errors.ts';

/** A parsed HLS master playlist: the tags and attribute lists the validator checks (RFC 8216 §4.3.4). */
export type AttributeList = Readonly<Record<string, string>>;

export interface ParsedVariant {
  readonly attrs: AttributeList;
  readonly uri: string;
}

export interface ParsedMaster {
  readonly version: number | undefined;
  readonly independentSegments: boolean;
  readonly media: readonly AttributeList[];
  readonly variants: readonly ParsedVariant[];
  readonly iFrameVariants: readonly AttributeList[];
}

/** Parses an attribute list (§4.2): NAME=value pairs, quoted strings may contain commas. Quotes are removed. */
export function parseAttributes(text: string): AttributeList {
  const out: Record<string, string> = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const raw = m[2] ?? '';
    out[m[1]!] = raw.startsWith('"') ? raw.slice(1, -1) : raw;
  }
  return out;
}

export function parseMasterPlaylist(text: string): ParsedMaster {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines[0] !== '#EXTM3U')
    throw new PipelineError('PACKAGE_BAD_PLAYLIST', 'Not an HLS playlist: missing #EXTM3U.', { firstLine: lines[0] ?? '' });
  let version: number | undefined;
  let independentSegments = false;
  const media: AttributeList[] = [];
  const variants: ParsedVariant[] = [];
  const iFrameVariants: AttributeList[] = [];
  let pending: AttributeList | undefined;
  for (const line of lines) {
    const value = line.slice(line.indexOf(':') + 1);
    if (line.startsWith('#EXT-X-VERSION:')) version = Number(value);
    else if (line === '#EXT-X-INDEPENDENT-SEGMENTS') independentSegments = true;
    else if (line.startsWith('#EXT-X-MEDIA:')) media.push(parseAttributes(value));
    else if (line.startsWith('#EXT-X-STREAM-INF:')) pending = parseAttributes(value);
    else if (line.startsWith('#EXT-X-I-FRAME-STREAM-INF:')) iFrameVariants.push(parseAttributes(value));
    else if (!line.startsWith('#') && pending) {
      variants.push({ attrs: pending, uri: line });
      pending = undefined;
    }
  }
  return { version, independentSegments, media, variants, iFrameVariants };
}
