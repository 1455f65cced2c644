import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PipelineError } from '../core/errors.ts';
import { sha256OfFile } from '../core/hashing.ts';
import { inputArgs, type MediaInput } from '../media/allow-list.ts';
import { scrubConfigRecord } from '../media/extradata.ts';
import { probeMedia, type RawProbe } from '../media/ffprobe.ts';
import { userDataPlan, type UserDataPlan } from '../media/user-data.ts';
import { diskFullError, isDiskFullError } from './disk-space.ts';

const execFileAsync = promisify(execFile);

export interface StripVideoOptions {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** The scanned upload as validation vetted it (allow-listed demuxer). */
  readonly input: MediaInput;
  /** Codec of its first video stream (validation probe), which decides how in-band user data is removed. */
  readonly videoCodec: string;
  /** Output path without extension; `.mp4` (or `.mkv` when MP4 cannot hold the codecs) is appended. */
  readonly outBase: string;
  /** Duration the validation probe read from the container header, for the truncation check. */
  readonly declaredDurationSec: number;
  /** Kill ffmpeg after this many ms; default 10 minutes (stream copy is disk-bound). */
  readonly timeoutMs?: number;
  /** x264 preset when the video stream has to be re-encoded (codecs whose user data cannot be filtered); default veryfast. */
  readonly preset?: string;
}

export interface StrippedMaster {
  readonly path: string;
  /** The master as the media layer hands it on (its demuxer known), and the one probe of it, passed forward. */
  readonly input: MediaInput;
  readonly probe: RawProbe;
  /** Settles after the function returned: the hash of the whole master, read beside the transcode. */
  readonly sha256: Promise<string>;
  readonly sizeBytes: number;
  /** True when the video stream was re-encoded because its codec's in-band user data cannot be filtered out. */
  readonly reencoded: boolean;
}

/** Visually lossless re-encode for the few codecs whose bitstream metadata cannot be filtered (see media/user-data.ts). */
const REENCODE_CRF = '16';

function videoArgs(plan: UserDataPlan, preset: string): string[] {
  if (plan.kind === 'reencode') return ['-c:v', 'libx264', '-preset', preset, '-crf', REENCODE_CRF];
  return ['-c:v', 'copy', ...(plan.bsf ? ['-bsf:v', plan.bsf] : [])];
}

/**
 * Copy of the first video and audio stream with every metadata source dropped: `-map_metadata -1` removes global
 * (QuickTime udta ©xyz location, Keys/mdta GPS, make/model, creation_time) and per-stream tags, `-map_chapters -1` the
 * chapters; mapping only v:0/a:0 drops data tracks (GoPro/DJI GPS telemetry, timecode), subtitles and attachments;
 * the video's in-band user data (SEI) goes through a bitstream filter or a re-encode; `+bitexact` omits the muxer's
 * encoder tag. The display matrix is stream side data, not metadata, so orientation survives.
 */
function remuxArgs(o: StripVideoOptions, plan: UserDataPlan, out: string, format: 'mp4' | 'matroska'): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...inputArgs(o.input),
    '-i',
    o.input.path,
    '-map',
    '0:v:0',
    '-map',
    '0:a:0?',
    ...videoArgs(plan, o.preset ?? 'veryfast'),
    '-c:a',
    'copy',
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-fflags',
    '+bitexact',
    ...(format === 'mp4' ? ['-movflags', '+faststart'] : []),
    '-f',
    format,
    out,
  ];
}

async function remux(o: StripVideoOptions, plan: UserDataPlan, format: 'mp4' | 'matroska', tmp: string): Promise<string> {
  const { stderr } = await execFileAsync(o.ffmpegPath, remuxArgs(o, plan, tmp, format), {
    timeout: o.timeoutMs ?? 600_000,
    maxBuffer: 8 * 1024 * 1024,
  });
  return stderr;
}

/** MP4 first (what every player and the archive expect); Matroska holds codecs MP4 cannot (e.g. PCM variants). */
async function writeMaster(o: StripVideoOptions, plan: UserDataPlan): Promise<{ out: MediaInput; stderr: string }> {
  const failures: string[] = [];
  for (const [format, ext] of [
    ['mp4', '.mp4'],
    ['matroska', '.mkv'],
  ] as const) {
    const tmp = `${o.outBase}.tmp${ext}`;
    try {
      const stderr = await remux(o, plan, format, tmp);
      const out: MediaInput = { path: o.outBase + ext, demuxer: format === 'mp4' ? 'mov' : 'matroska' };
      // The config record is fixed on the temp file, so a crash never leaves a master with user data under its name.
      if ((await scrubConfigRecord({ ...out, path: tmp }, plan.kind === 'copy' ? o.videoCodec : 'h264', o)) === 'unfixable') {
        await rm(tmp, { force: true });
        return writeMaster(o, { kind: 'reencode' });
      }
      await rename(tmp, out.path);
      return { out, stderr };
    } catch (err) {
      await rm(tmp, { force: true });
      // The other container needs the same space: say the disk is full, not that the file could not be remuxed.
      if (isDiskFullError(err)) throw diskFullError('The master could not be written.', err);
      failures.push(String((err as { stderr?: unknown }).stderr ?? err).slice(-1000));
    }
  }
  throw new PipelineError('INGEST_STRIP_FAILED', 'ffmpeg could not remux the upload.', { stderr: failures });
}

/** Writes the metadata-free master next to `outBase` (tmp + rename, so a crash never leaves half a master). */
export async function stripVideoMetadata(o: StripVideoOptions): Promise<StrippedMaster> {
  await mkdir(path.dirname(o.outBase), { recursive: true });
  const plan = userDataPlan(o.videoCodec);
  const { out, stderr } = await writeMaster(o, plan);
  // The hash reads the fresh file from the page cache beside the probe, and is not waited for here: only the
  // master's record needs it, while the transcode can start on the probe (hashing 600 MB takes seconds).
  const sha256 = sha256OfFile(out.path).then((h) => h.sha256);
  sha256.catch(() => undefined); // a master removed while hashing (a bad verdict) leaves a rejection nobody awaits
  const probe = await probeMedia(out, { ffprobePath: o.ffprobePath });
  const duration = Number(probe.format?.duration ?? NaN);
  // A truncated file with its index up front (faststart) probes fine but its packets stop early: the remux says
  // "partial file" and comes out shorter than the header claims.
  const short = !(duration > 0) || duration < o.declaredDurationSec * 0.9 - 0.2;
  if (/partial file/i.test(stderr) || short) {
    await rm(out.path, { force: true });
    throw new PipelineError('INGEST_TRUNCATED', `Media data ends early (${duration} of ${o.declaredDurationSec} s).`, {
      durationSec: duration,
      declaredDurationSec: o.declaredDurationSec,
    });
  }
  const st = await stat(out.path);
  return {
    path: out.path,
    input: out,
    probe,
    sha256,
    sizeBytes: st.size,
    reencoded: plan.kind === 'reencode',
  };
}
