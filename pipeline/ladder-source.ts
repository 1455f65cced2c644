import type { SourceProbe } from '../core/types.ts';
import { mediaInput, type MediaInput } from '../media/allow-list.ts';
import type { RawProbe } from '../media/ffprobe.ts';
import { planLadder } from '../transcoder/ladder.ts';
import { probeSource, toSourceProbe } from '../transcoder/probe.ts';
import { quickPathProbeBlocker } from '../transcoder/transcode.ts';
import type { WatermarkOptions } from '../transcoder/watermark.ts';
import type { PreparedMaster } from './prepare.ts';
import { finalIfVerdict } from './scan-gate.ts';

/** What the ladder reads. */
export interface LadderSource {
  readonly input: MediaInput;
  readonly probe: SourceProbe;
  /**
   * True when the input is the validated upload, read while the master is still being written: the ladder must then
   * re-encode every stream (no quick path), and the master's path comes from `PreparedMaster.master`.
   */
  readonly fromUpload: boolean;
}

export interface LadderSourceOptions {
  readonly ffprobePath: string;
  /** The quick path (top rung stream-copied) is allowed on this attempt. */
  readonly allowRemux: boolean;
  /** A watermark rules the quick path out. */
  readonly watermark: WatermarkOptions | undefined;
  /** True when this source would be encoded in chunks (chunk jobs read the master from the bucket). */
  readonly chunked: (probe: SourceProbe) => Promise<boolean>;
  /** A probe that fails (no usable video stream, ffprobe refused) ends here; the strip's errors do not. */
  readonly probeFailed: (err: unknown) => Promise<never>;
}

/**
 * The ladder starts on the validated upload as soon as validation passed, beside the strip, instead of after it: the
 * strip is a full remux plus a probe (about a second for a 60 MB phone clip, seconds for 600 MB), and everything the
 * ladder writes is re-encoded from decoded pictures and sound with metadata mapping off, so nothing of the upload's
 * tags or in-band user data can reach it. The master is still what is archived, kept and retried from. The upload is
 * not used when the master must be: a source that may take the quick path (its top rung is a stream copy, which would
 * copy the upload's in-band user data) or one encoded in chunks. Reading the upload is no wider exposure than before:
 * the strip's ffmpeg reads the same unscanned bytes with the same allow-listed demuxer, and nothing leaves the worker
 * before the scan cleared them.
 */
export async function ladderSource(prepared: PreparedMaster, o: LadderSourceOptions): Promise<LadderSource> {
  const up = prepared.upload;
  const sourceProbe = (raw: RawProbe, file: string): Promise<SourceProbe> =>
    Promise.resolve()
      .then(() => toSourceProbe(raw, file))
      .catch(o.probeFailed);
  if (up) {
    const probe = await sourceProbe(up.probe, up.input.path);
    const quick = quickPathProbeBlocker({ ...o, probe }, planLadder(probe)) === undefined;
    if (!quick && !(await o.chunked(probe))) return { input: up.input, probe, fromUpload: true };
  }
  prepared.uploadRead();
  const m = await prepared.master.catch((err: unknown) => Promise.reject(finalIfVerdict(err)));
  // The strip's probe of the master it wrote is passed forward; only a retry that reuses an earlier master probes it.
  const probe = m.probe
    ? await sourceProbe(m.probe, m.path)
    : await probeSource(m.path, { ffprobePath: o.ffprobePath }).catch(o.probeFailed);
  return { input: mediaInput(m.path, probe.container), probe, fromUpload: false };
}
