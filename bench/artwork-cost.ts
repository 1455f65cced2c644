/**
 * What posters and storyboard cost now that their frames come from the ladder's own decode: the ladder's ffmpeg run
 * timed without and with the two still branches (alternating, so machine load hits both alike), and the work left
 * after ffmpeg exits (scoring, poster sizes, sprite + VTT, publishing), which is on the path to "ready".
 *   node --import tsx bench/artwork-cost.ts [source] [repeats]
 * Without a source, a 30 s 1080p30 clip with grain (hard to code, like phone video) is generated.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { mediaInput } from '../media/allow-list.ts';
import { artworkStills, planArtwork, writeArtwork } from '../packager/artwork.ts';
import { storageSink } from '../storage/publish.ts';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { probeSource } from '../transcoder/probe.ts';
import { runFfmpeg } from '../transcoder/run-ffmpeg.ts';
import { planTranscode } from '../transcoder/transcode.ts';

const run = promisify(execFile);
const logger = pino({ level: 'warn' });

export interface ArtworkCostResult {
  /** Wall time of the ladder's ffmpeg run. */
  readonly ladderSec: { readonly without: number[]; readonly with: number[] };
  /** Its CPU time (user + system): what the still branches cost, barely touched by other load on the machine. */
  readonly ladderCpuSec: { readonly without: number[]; readonly with: number[] };
  /** From ffmpeg's exit to the last artwork file in storage, one per run with stills. */
  readonly afterFfmpegMs: number[];
}

async function makeSource(file: string): Promise<void> {
  const video = 'testsrc2=size=1920x1080:rate=30:duration=30,noise=alls=18:allf=t+u';
  const audio = 'sine=frequency=440:sample_rate=48000:duration=30';
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', audio].concat([
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      file,
    ]),
  );
}

/**
 * An ffmpeg that appends its CPU seconds to `log` when it exits: bash's `times` prints the shell's user and system
 * time, then its children's (ffmpeg's) on the last line. Not piped: a subshell would report its own, empty, children.
 */
async function timedFfmpeg(dir: string): Promise<{ path: string; lastCpuSec: () => Promise<number> }> {
  const log = path.join(dir, 'cpu.log');
  const file = path.join(dir, 'ffmpeg-timed');
  await writeFile(file, `#!/bin/bash\nffmpeg "$@"\nrc=$?\ntimes >> '${log}'\nexit $rc\n`);
  await chmod(file, 0o755);
  const seconds = (t: string): number => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t) ?? [];
    return Number(m) * 60 + Number(s);
  };
  const lastCpuSec = async (): Promise<number> => {
    const last = (await readFile(log, 'utf8')).trim().split('\n').at(-1) ?? '';
    return last.split(' ').reduce((sum, t) => sum + seconds(t), 0);
  };
  return { path: file, lastCpuSec };
}

type Ffmpeg = Awaited<ReturnType<typeof timedFfmpeg>>;

/** One ladder run (the pipeline's plan, default preset and threads); returns its times and, with stills, the rest. */
async function once(
  ffmpeg: Ffmpeg,
  source: string,
  dir: string,
  stills: boolean,
): Promise<{ ladderSec: number; cpuSec: number; afterMs?: number }> {
  const probe = await probeSource(source, { ffprobePath: 'ffprobe' });
  const art = stills ? planArtwork(dir, probe.durationSec) : undefined;
  const t = await planTranscode({
    source: mediaInput(source, probe.container),
    probe,
    outDir: dir,
    ffprobePath: 'ffprobe',
    stills: art ? artworkStills(art) : undefined,
  });
  const dirs = [...t.renditions.map((r) => path.join(dir, r.dir)), ...(art ? artworkStills(art).map((s) => s.dir) : [])];
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  const t0 = performance.now();
  await runFfmpeg({ ffmpegPath: ffmpeg.path, plan: t.plan, logger });
  const t1 = performance.now();
  const times = { ladderSec: (t1 - t0) / 1000, cpuSec: await ffmpeg.lastCpuSec() };
  if (!art) return times;
  const sink = storageSink(new LocalDiskStorage({ root: path.join(dir, '..', `${path.basename(dir)}-published`) }), 'hls');
  const { posters, storyboard } = await writeArtwork(art, dir);
  const files = [...posters.images.map((i) => i.file), storyboard.spriteFile, storyboard.vttFile];
  await Promise.all(files.map((rel) => sink.putFile(rel, path.join(dir, rel))));
  return { ...times, afterMs: performance.now() - t1 };
}

export async function benchArtworkCost(source: string | undefined, repeats: number): Promise<ArtworkCostResult> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-artwork-cost-'));
  try {
    const src = source ?? path.join(tmp, 'source.mp4');
    if (!source) await makeSource(src);
    const ffmpeg = await timedFfmpeg(tmp);
    const result: ArtworkCostResult = { ladderSec: { without: [], with: [] }, ladderCpuSec: { without: [], with: [] }, afterFfmpegMs: [] };
    const round = (sec: number): number => Math.round(sec * 100) / 100;
    for (let i = 0; i < repeats * 2; i++) {
      const stills = i % 2 === 1;
      const dir = path.join(tmp, `run${i}`);
      const r = await once(ffmpeg, src, dir, stills);
      (stills ? result.ladderSec.with : result.ladderSec.without).push(round(r.ladderSec));
      (stills ? result.ladderCpuSec.with : result.ladderCpuSec.without).push(round(r.cpuSec));
      if (r.afterMs !== undefined) result.afterFfmpegMs.push(Math.round(r.afterMs));
      await rm(dir, { recursive: true, force: true });
    }
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [source, repeats] = process.argv.slice(2);
  benchArtworkCost(source, Number(repeats) || 2).then(
    (r) => process.stdout.write(`${JSON.stringify({ bench: 'artwork-cost', ...r }, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
