/**
 * What splitting one encode into chunks costs on one process: the ladder (video rungs + audio) of one source encoded
 * in one piece, or as chunks of `chunkSec` run one after another plus the audio job. Wall and CPU time come from the
 * caller (the chunked ffmpeg runs are this process's children), e.g.
 *   /usr/bin/time -f '%e s wall, %U+%S s cpu' node --import tsx bench/chunked-cost.ts <source> one|<chunkSec>
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { mediaInput } from '../media/allow-list.ts';
import { encodeAudio, encodeVideoChunk, planChunks } from '../transcoder/chunks.ts';
import { probeSource } from '../transcoder/probe.ts';
import { transcodeLadder } from '../transcoder/transcode.ts';

const logger = pino({ level: 'warn' });

async function main(file: string, mode: string): Promise<void> {
  const probe = await probeSource(file, { ffprobePath: 'ffprobe' });
  const source = mediaInput(file, probe.container);
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'ks-chunk-bench-'));
  const common = { source, probe, ffmpegPath: 'ffmpeg', logger, threads: 0 };
  try {
    if (mode === 'one') {
      await transcodeLadder({ ...common, ffprobePath: 'ffprobe', outDir, allowRemux: false });
      return;
    }
    const chunks = planChunks(probe.durationSec, { chunkSec: Number(mode), minSourceSec: 0 });
    await encodeAudio({ ...common, outDir: path.join(outDir, 'audio-job') });
    for (const chunk of chunks) await encodeVideoChunk({ ...common, chunk, outDir: path.join(outDir, `c${chunk.index}`) });
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

await main(process.argv[2] ?? '', process.argv[3] ?? 'one');
