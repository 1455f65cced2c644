import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FIRST_GOP_SECONDS, GOP_SECONDS, SEGMENT_SECONDS } from '../transcoder/command.ts';
import { codecOfInitFile } from './codecs.ts';
import { PREFERRED_START_BITRATE } from './master.ts';
import { parseMasterPlaylist, type AttributeList, type ParsedMaster } from './master-parse.ts';
import {
  checkAlignment,
  checkIFramePlaylist,
  checkMediaPlaylist,
  type CheckedMedia,
  type Report,
  type ValidatePackageOptions,
  type Violation,
} from './validate-media.ts';

export { VIOLATION_CODES, type ValidatePackageOptions, type Violation, type ViolationCode } from './validate-media.ts';

const VARIANT_ATTRIBUTES = ['BANDWIDTH', 'AVERAGE-BANDWIDTH', 'CODECS', 'RESOLUTION', 'FRAME-RATE'] as const;
const IFRAME_ATTRIBUTES = ['BANDWIDTH', 'CODECS', 'RESOLUTION', 'URI'] as const;

function withDefaults(o: ValidatePackageOptions): Required<Omit<ValidatePackageOptions, 'known'>> {
  return {
    targetDurationSec: o.targetDurationSec ?? SEGMENT_SECONDS,
    gopSec: o.gopSec ?? GOP_SECONDS,
    firstGopSec: o.firstGopSec ?? FIRST_GOP_SECONDS,
    bitrateTolerance: o.bitrateTolerance ?? 0.1,
    masterName: o.masterName ?? 'master.m3u8',
  };
}

function checkMasterTags(m: ParsedMaster, file: string, report: Report): void {
  if (!m.version) report('PKG_MASTER_TAG_MISSING', file, 'missing EXT-X-VERSION');
  if (!m.independentSegments) report('PKG_MASTER_TAG_MISSING', file, 'missing EXT-X-INDEPENDENT-SEGMENTS');
  if (m.variants.length === 0) report('PKG_MASTER_TAG_MISSING', file, 'no EXT-X-STREAM-INF');
  for (const v of m.variants) {
    for (const a of VARIANT_ATTRIBUTES) if (!v.attrs[a]) report('PKG_VARIANT_ATTRIBUTE_MISSING', file, `${v.uri}: missing ${a}`);
    const group = v.attrs['AUDIO'];
    const audioGroups = m.media.filter((x) => x['TYPE'] === 'AUDIO').map((x) => x['GROUP-ID']);
    if (group ? !audioGroups.includes(group) : audioGroups.length > 0) {
      report('PKG_AUDIO_GROUP_MISSING', file, `${v.uri}: AUDIO="${group ?? ''}" does not name a declared audio group`);
    }
  }
  // Apple authoring spec §1.19: the first variant is where playback starts; it should be the ~2 Mb/s one.
  const bws = m.variants.map((v) => Number(v.attrs['BANDWIDTH'] ?? 0));
  const dist = (b: number): number => Math.abs(b - PREFERRED_START_BITRATE);
  if (bws.length > 1 && bws.some((b) => dist(b) < dist(bws[0]!)))
    report('PKG_VARIANT_ORDER', file, 'first variant is not the one closest to 2 Mb/s');
}

function compareBitrate(
  code: 'PKG_BANDWIDTH_MISMATCH' | 'PKG_AVERAGE_BANDWIDTH_MISMATCH' | 'PKG_IFRAME_BANDWIDTH_MISMATCH',
  declared: string | undefined,
  measured: number,
  tol: number,
  file: string,
  report: Report,
): void {
  if (declared === undefined || measured <= 0) return;
  const d = Number(declared);
  if (!(Math.abs(d - measured) <= measured * tol)) report(code, file, `declared ${d} b/s, measured ${Math.round(measured)} b/s`);
}

async function checkCodecs(root: string, attrs: AttributeList, media: CheckedMedia[], file: string, report: Report): Promise<void> {
  const declared = (attrs['CODECS'] ?? '').split(',').map((c) => c.trim());
  for (const [i, m] of media.entries()) {
    if (!m.playlist.mapUri) continue;
    const init = path.join(root, path.dirname(m.rel), m.playlist.mapUri);
    const actual = await codecOfInitFile(init, i === 0 ? 'video' : 'audio').catch(() => undefined);
    if (actual && !declared.includes(actual))
      report('PKG_CODECS_MISMATCH', file, `CODECS="${attrs['CODECS'] ?? ''}" lacks ${actual} of ${m.rel}`);
  }
}

/**
 * Checks a package directory (as the packager writes and storage publishes it) against RFC 8216 and the rules of
 * The package rules: VOD media playlists with EXT-X-MAP and EXT-X-INDEPENDENT-SEGMENTS, segments within the target duration and
 * a multiple of the GOP, declared bitrates within the tolerance of the measured ones, real CODECS, aligned rungs, the
 * ~2 Mb/s variant first and a consistent I-frame playlist per rung. Returns every violation; empty means valid.
 */
export async function validatePackage(root: string, opts: ValidatePackageOptions = {}): Promise<Violation[]> {
  const o = withDefaults(opts);
  const violations: Violation[] = [];
  const report: Report = (code, file, detail) => violations.push({ code, file, detail });
  let master: ParsedMaster;
  try {
    master = parseMasterPlaylist(await readFile(path.join(root, o.masterName), 'utf8'));
  } catch (err) {
    report('PKG_MASTER_UNREADABLE', o.masterName, err instanceof Error ? err.message : String(err));
    return violations;
  }
  checkMasterTags(master, o.masterName, report);
  const audios = new Map<string, CheckedMedia>();
  for (const m of master.media.filter((x) => x['TYPE'] === 'AUDIO' && x['URI'])) {
    const checked = await checkMediaPlaylist(root, m['URI']!, 'audio', o, report);
    if (checked && m['GROUP-ID']) audios.set(m['GROUP-ID'], checked);
  }
  const rungs: CheckedMedia[] = [];
  for (const v of master.variants) {
    const checked = await checkMediaPlaylist(root, v.uri, 'video', o, report);
    if (!checked) continue;
    rungs.push(checked);
    const audio = v.attrs['AUDIO'] ? audios.get(v.attrs['AUDIO']) : undefined;
    compareBitrate('PKG_BANDWIDTH_MISMATCH', v.attrs['BANDWIDTH'], checked.peak + (audio?.peak ?? 0), o.bitrateTolerance, v.uri, report);
    compareBitrate(
      'PKG_AVERAGE_BANDWIDTH_MISMATCH',
      v.attrs['AVERAGE-BANDWIDTH'],
      checked.average + (audio?.average ?? 0),
      o.bitrateTolerance,
      v.uri,
      report,
    );
    await checkCodecs(root, v.attrs, audio ? [checked, audio] : [checked], v.uri, report);
    const iframe = master.iFrameVariants.find((f) => f['URI'] && path.dirname(f['URI']) === path.dirname(v.uri));
    if (!iframe) {
      report('PKG_IFRAME_PLAYLIST_MISSING', o.masterName, `no EXT-X-I-FRAME-STREAM-INF for ${v.uri}`);
      continue;
    }
    for (const a of IFRAME_ATTRIBUTES)
      if (!iframe[a]) report('PKG_VARIANT_ATTRIBUTE_MISSING', o.masterName, `I-frame stream for ${v.uri}: missing ${a}`);
    const measured = await checkIFramePlaylist(root, iframe['URI']!, checked, report, opts.known);
    if (measured)
      compareBitrate('PKG_IFRAME_BANDWIDTH_MISMATCH', iframe['BANDWIDTH'], measured.peak, o.bitrateTolerance, iframe['URI']!, report);
  }
  checkAlignment(rungs, report);
  return violations;
}
