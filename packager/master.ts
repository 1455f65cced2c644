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
