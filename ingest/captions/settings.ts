import { PipelineError } from '../../core/errors.ts';

/**
 * Cue settings and REGION settings exactly as WebVTT defines them (§4.2.1 region settings, §4.2.3 cue settings). Each
 * name at most once, each value in its grammar; anything else (unknown names, CSS, scripts smuggled as values) is refused.
 */
const PCT = String.raw`(?:\d{1,3}(?:\.\d{1,3})?)%`;
const CUE_SETTINGS: Readonly<Record<string, RegExp>> = {
  vertical: /^(rl|lr)$/,
  line: new RegExp(String.raw`^(?:-?\d{1,3}|${PCT})(?:,(?:start|center|end))?$`),
  position: new RegExp(String.raw`^${PCT}(?:,(?:line-left|center|line-right))?$`),
  size: new RegExp(`^${PCT}$`),
  align: /^(start|center|end|left|right)$/,
  region: /^[A-Za-z0-9_-]{1,32}$/,
};
const REGION_SETTINGS: Readonly<Record<string, RegExp>> = {
  id: /^[A-Za-z0-9_-]{1,32}$/,
  width: new RegExp(`^${PCT}$`),
  lines: /^\d{1,2}$/,
  regionanchor: new RegExp(`^${PCT},${PCT}$`),
  viewportanchor: new RegExp(`^${PCT},${PCT}$`),
  scroll: /^up$/,
};

function percentsInRange(value: string): boolean {
  return [...value.matchAll(/(\d{1,3}(?:\.\d{1,3})?)%/g)].every((m) => Number(m[1]) <= 100);
}

function parseSettings(text: string, allowed: Readonly<Record<string, RegExp>>, what: string, line: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const token of text.split(/[ \t]+/).filter((t) => t !== '')) {
    const colon = token.indexOf(':');
    const name = colon > 0 ? token.slice(0, colon) : token;
    const value = colon > 0 ? token.slice(colon + 1) : '';
    const re = allowed[name];
    if (!re || out.has(name) || !re.test(value) || !percentsInRange(value)) {
      throw new PipelineError('INGEST_CAPTION_MARKUP', `${what} setting "${token.slice(0, 40)}" at line ${line} is not allowed.`, {
        line,
        setting: token.slice(0, 40),
      });
    }
    out.set(name, value);
  }
  return out;
}

/** The cue settings of a timing line, normalised; a region: must name a region the file defined. */
export function cueSettings(text: string, line: number, regions: ReadonlySet<string>): string {
  const s = parseSettings(text, CUE_SETTINGS, 'Cue', line);
  const region = s.get('region');
  if (region !== undefined && !regions.has(region)) {
    throw new PipelineError('INGEST_CAPTION_MARKUP', `Cue at line ${line} names region "${region}" that the file does not define.`, {
      line,
      setting: `region:${region}`,
    });
  }
  return [...s].map(([k, v]) => `${k}:${v}`).join(' ');
}

/** A REGION block's settings (one per line or space-separated); it must have an id. */
export function regionSettings(lines: readonly string[], line: number): { id: string; settings: string } {
  const s = parseSettings(lines.join(' '), REGION_SETTINGS, 'Region', line);
  const id = s.get('id');
  if (!id) throw new PipelineError('INGEST_CAPTION_MARKUP', `REGION at line ${line} has no id.`, { line });
  return { id, settings: [...s].map(([k, v]) => `${k}:${v}`).join('\n') };
}
