/**
 * Streams one large object through S3Storage (to s3rver on loopback) and LocalDiskStorage and reports throughput as a
 * ratio plus the RSS growth during the S3 upload, which must stay near 2 parts, not the object size.
 * `node --import tsx bench/storage-multipart.ts [MiB=256]`. Figures are for this machine only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalDiskStorage } from '../storage/local-disk.ts';
import { S3Storage } from '../storage/s3.ts';
import type { ObjectStorage } from '../storage/types.ts';
import { patternChunks } from './pattern.ts';
import { startS3rver } from './s3rver-server.ts';

const mib = Number(process.argv[2] ?? 256);
const total = mib * 1024 * 1024;
const partSize = 16 * 1024 * 1024;

async function timed(s: ObjectStorage, key: string): Promise<{ sec: number; peakRssMiB: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = process.hrtime.bigint();
  await s.put(key, Readable.from(patternChunks(total)));
  clearInterval(sampler);
  return { sec: Number(process.hrtime.bigint() - t0) / 1e9, peakRssMiB: (peak - base) / 1024 / 1024 };
}

const server = await startS3rver(['bench']);
const dir = await mkdtemp(path.join(os.tmpdir(), 'ks-bench-'));
try {
  const s3 = await S3Storage.create({
    endpoint: server.endpoint,
    bucket: 'bench',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    partSize,
  });
  const local = new LocalDiskStorage({ root: dir });
  const l = await timed(local, 'big.bin');
  const r = await timed(s3, 'big.bin');
  console.log(
    JSON.stringify({
      objectMiB: mib,
      partMiB: partSize / 1024 / 1024,
      localMiBps: +(mib / l.sec).toFixed(1),
      s3rverMiBps: +(mib / r.sec).toFixed(1),
      s3OverLocalTimeRatio: +(r.sec / l.sec).toFixed(2),
      s3PeakRssGrowthMiB: +r.peakRssMiB.toFixed(1),
      s3PeakRssGrowthInParts: +(r.peakRssMiB / (partSize / 1024 / 1024)).toFixed(2),
    }),
  );
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
