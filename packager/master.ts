import { PRESENTATION_OFFSET_SECONDS } from '../transcoder/command.ts';

export interface MasterVariant {
  /** URI of the media playlist, relative to the master. */
  readonly uri: string;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  readonly codecs: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** The rung's I-frame-only playlist, when it has one (§4.3.4.3). */
  readonly iFrame?: MasterIFrameVariant;
}

export interface MasterIFrameVariant {
  readonly uri: string;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  /** Video codec only: I-frame playlists carry no audio. */
  readonly codecs: string;
}

export interface MasterAudio {
  readonly uri: string;
  readonly groupId: string;
  readonly name: string;
  readonly channels: number;
}

/** Apple's authoring spec asks the first variant to be the one most clients should start with (~2 Mb/s). */
export const PREFERRED_START_BITRATE = 2_000_000;

/** First the variant closest to the preferred start bitrate, then the rest by ascending bandwidth. */
export function orderVariants<T extends { bandwidth: number }>(variants: readonly T[]): T[] {
  const sorted = [...variants].sort((a, b) => a.bandwidth - b.bandwidth);
  if (sorted.length === 0) return sorted;
  const first = sorted.reduce((best, v) =>
    Math.abs(v.bandwidth - PREFERRED_START_BITRATE) < Math.abs(best.bandwidth - PREFERRED_START_BITRATE) ? v : best,
  );
  return [first, ...sorted.filter((v) => v !== first)];
}

/** Renders a master playlist (RFC 8216 §4.4.6). Video variants carry the audio group's bandwidth in their own. */
export function renderMasterPlaylist(variants: readonly MasterVariant[], audio: MasterAudio | undefined): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (audio) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${audio.groupId}",NAME="${audio.name}",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${audio.channels}",URI="${audio.uri}"`,
    );
  }
  for (const v of orderVariants(variants)) {
    const attrs = [
      `BANDWIDTH=${v.bandwidth}`,
      `AVERAGE-BANDWIDTH=${v.averageBandwidth}`,
      `CODECS="${v.codecs}"`,
      `RESOLUTION=${v.width}x${v.height}`,
      `FRAME-RATE=${v.fps.toFixed(3)}`,
      ...(audio ? [`AUDIO="${audio.groupId}"`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  for (const v of orderVariants(variants)) {
    if (!v.iFrame) continue;
    const f = v.iFrame;
    lines.push(
      `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${f.bandwidth},AVERAGE-BANDWIDTH=${f.averageBandwidth},CODECS="${f.codecs}",RESOLUTION=${v.width}x${v.height},URI="${f.uri}"`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The group every variant names in SUBTITLES="…" when the video has captions. */
export const SUBTITLE_GROUP = 'subs';

export interface SubtitleTrack {
  /** URI of the subtitle media playlist, relative to the master. */
  readonly uri: string;
  /** BCP 47 tag (LANGUAGE). */
  readonly language: string;
  /** Menu label (NAME); plain text without quotes or line breaks. */
  readonly name: string;
}

/**
 * Adds a SUBTITLES group to a rendered master (RFC 8216 §4.3.4.1: one EXT-X-MEDIA per language, §4.3.4.2: each
 * EXT-X-STREAM-INF names the group). Captions are moderated apart from the video, so the stored master has none and
 * the group is added per request from the captions the caller may see. None are DEFAULT: captions start off, and the
 * player (or the viewer's AUTOSELECT preference) turns them on.
 */
export function addSubtitleGroup(master: string, tracks: readonly SubtitleTrack[]): string {
  if (tracks.length === 0) return master;
  const media = tracks.map(
    (t) =>
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${SUBTITLE_GROUP}",NAME="${t.name}",LANGUAGE="${t.language}",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="${t.uri}"`,
  );
  const out: string[] = [];
  let inserted = false;
  for (const line of master.split(/\r?\n/)) {
    if (line.startsWith('#EXT-X-STREAM-INF:')) {
      if (!inserted) out.push(...media);
      inserted = true;
      out.push(line.includes('SUBTITLES=') ? line : `${line},SUBTITLES="${SUBTITLE_GROUP}"`);
    } else out.push(line);
  }
  return out.join('\n');
}

/**
 * A subtitle media playlist holding the whole WebVTT file as its one segment (§3.5: a WebVTT segment may be the whole
 * file; segments may be any length).
 */
export function renderSubtitlePlaylist(vttUri: string, durationSec: number): string {
  const d = Math.max(durationSec, 0.001);
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${Math.ceil(d)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXTINF:${d.toFixed(3)},`,
    vttUri,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n');
}

/**
 * A stored WebVTT as a subtitle segment: with X-TIMESTAMP-MAP (§3.5) saying that cue time 0 is where the picture
 * starts. Without it a cue time of 0 means media timestamp 0, but the transcoder starts the presentation
 * PRESENTATION_OFFSET_SECONDS later (room for the audio priming), so every cue would show that much early.
 */
export function subtitleSegment(vtt: string): string {
  const map = `X-TIMESTAMP-MAP=MPEGTS:${Math.round(PRESENTATION_OFFSET_SECONDS * 90_000)},LOCAL:00:00:00.000`;
  const nl = vtt.indexOf('\n');
  return nl < 0 ? `${vtt}\n${map}\n` : `${vtt.slice(0, nl)}\n${map}${vtt.slice(nl)}`;
}
