import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LadderRung } from '../core/types.ts';
import { codecOfInitFile } from './codecs.ts';
import { renderMasterPlaylist, type MasterVariant } from './master.ts';
import { measureRendition } from './measure.ts';

/** A rendition directory written by the transcoder (`<dir>/index.m3u8`, `init.mp4`, segments). */
export interface RenditionInput {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly dir: string;
  readonly rung: LadderRung | undefined;
}

export interface PackagedRendition {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly width: number | null;
  readonly height: number | null;
  readonly fps: number | null;
  readonly codecs: string;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  /** Playlist path relative to the package root. */
  readonly playlist: string;
  readonly sizeBytes: number;
}

export interface PackageResult {
  readonly masterFile: string;
  readonly renditions: readonly PackagedRendition[];
}

export const MASTER_NAME = 'master.m3u8';
const AUDIO_GROUP = 'aud';

async function describe(root: string, r: RenditionInput): Promise<PackagedRendition> {
  const playlist = `${r.dir}/index.m3u8`;
  const m = await measureRendition(path.join(root, playlist));
  const codecs = await codecOfInitFile(path.join(root, r.dir, 'init.mp4'), r.kind);
  return {
    name: r.name,
    kind: r.kind,
    width: r.rung?.width ?? null,
    height: r.rung?.height ?? null,
    fps: r.rung?.fps ?? null,
    codecs,
    bandwidth: m.peakBitrate,
    averageBandwidth: m.averageBitrate,
    playlist,
    sizeBytes: m.sizeBytes,
  };
}

/** Measures every rendition in `root` and writes the master playlist with measured BANDWIDTH and real CODECS. */
export async function writeMaster(root: string, inputs: readonly RenditionInput[]): Promise<PackageResult> {
  const renditions = await Promise.all(inputs.map((r) => describe(root, r)));
  const audio = renditions.find((r) => r.kind === 'audio');
  const variants: MasterVariant[] = renditions
    .filter((r) => r.kind === 'video')
    .map((v) => ({
      uri: v.playlist,
      bandwidth: v.bandwidth + (audio?.bandwidth ?? 0),
      averageBandwidth: v.averageBandwidth + (audio?.averageBandwidth ?? 0),
      codecs: audio ? `${v.codecs},${audio.codecs}` : v.codecs,
      width: v.width ?? 0,
      height: v.height ?? 0,
      fps: v.fps ?? 0,
    }));
  const masterFile = path.join(root, MASTER_NAME);
  const text = renderMasterPlaylist(variants, audio ? { uri: audio.playlist, groupId: AUDIO_GROUP, name: 'Default', channels: 2 } : undefined);
  await writeFile(masterFile, text);
  return { masterFile, renditions };
}
