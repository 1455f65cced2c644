import type { SourceProbe } from '../../core/types.ts';

type VideoOverrides = Partial<SourceProbe['video']>;

/** A probe as probeSource would return it for an H.264/AAC 30 fps source; override what the case is about. */
export function probeOf(width: number, height: number, video: VideoOverrides = {}, audio?: SourceProbe['audio'] | 'none'): SourceProbe {
  return {
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    durationSec: 10,
    sizeBytes: 1_000_000,
    video: {
      codec: 'h264',
      width,
      height,
      fps: 30,
      pixFmt: 'yuv420p',
      rotation: 0,
      bitRate: 500_000,
      fieldOrder: 'progressive',
      colorTransfer: 'bt709',
      profile: 'High',
      variableFrameRate: false,
      ...video,
    },
    audio: audio === 'none' ? null : (audio ?? { codec: 'aac', channels: 2, sampleRate: 48_000, bitRate: 128_000, profile: 'LC' }),
  };
}
