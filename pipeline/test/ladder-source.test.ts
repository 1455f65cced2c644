import { UnrecoverableError } from 'bullmq';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../../core/errors.ts';
import { probeFile } from '../../media/ffprobe.ts';
import { ALIGNED_GOP, makeClip } from '../../test/helpers/media.ts';
import { ladderSource, type LadderSourceOptions } from '../ladder-source.ts';
import type { PreparedMaster } from '../prepare.ts';
import type { WatermarkOptions } from '../../transcoder/watermark.ts';

let tmp: string;
/** Mono audio: the quick path is ruled out by the probe alone. */
let plain: string;
/** H.264 + stereo AAC at the top rung's size, rate and bitrate: the quick path may copy its top rung. */
let copyable: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ladder-source-'));
  [plain, copyable] = await Promise.all([
    makeClip({ out: path.join(tmp, 'plain.mp4'), durationSec: 2 }),
    makeClip({ out: path.join(tmp, 'copyable.mp4'), durationSec: 2, extraArgs: ALIGNED_GOP }),
  ]);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A prepared upload whose master is still being written until `finish` is called. */
async function preparing(upload: string): Promise<{ prepared: PreparedMaster; reads: () => number; finish: (err?: Error) => void }> {
  const { input, probe } = await probeFile(upload, { ffprobePath: 'ffprobe' });
  let finish!: (err?: Error) => void;
  const master = new Promise<{ path: string; probe: undefined }>((resolve, reject) => {
    finish = (err) => (err ? reject(err) : resolve({ path: upload, probe: undefined }));
  });
  master.catch(() => undefined);
  let reads = 0;
  const prepared: PreparedMaster = {
    master,
    upload: { input, probe },
    cleared: new Promise(() => undefined),
    uploadRead: () => void reads++,
    discarded: new Promise(() => undefined),
  };
  return { prepared, reads: () => reads, finish };
}

const options = (o: Partial<LadderSourceOptions> = {}): LadderSourceOptions => ({
  ffprobePath: 'ffprobe',
  allowRemux: true,
  watermark: undefined,
  chunked: () => Promise.resolve(false),
  probeFailed: (err) => Promise.reject(err),
  ...o,
});

/** Whether `p` settles within a moment (the master never settles unless the test says so). */
const settlesSoon = (p: Promise<unknown>): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);

describe('ladderSource', () => {
  it('starts on the validated upload while the master is still being written, when every stream is re-encoded', async () => {
    const p = await preparing(plain);
    const src = await ladderSource(p.prepared, options());
    expect(src).toMatchObject({ fromUpload: true, input: { path: plain, demuxer: 'mov' } });
    expect(src.probe.audio?.channels).toBe(1);
    expect(p.reads()).toBe(0); // the upload is still being read
  });

  it('waits for the master when the top rung could be a stream copy of the upload (its in-band data would go along)', async () => {
    const p = await preparing(copyable);
    const pending = ladderSource(p.prepared, options());
    expect(await settlesSoon(pending)).toBe(false);
    p.finish();
    expect(await pending).toMatchObject({ fromUpload: false });
    expect(p.reads()).toBe(1);
  });

  it('reads the upload when no stream can be copied anyway: a retry, or a watermark', async () => {
    // ladderSource only asks whether there is a watermark; the picture is never opened here.
    const watermark: WatermarkOptions = {
      image: { path: path.join(tmp, 'logo.png'), width: 64, height: 32 },
      corner: 'top-right',
      opacity: 0.8,
      heightFraction: 0.1,
      marginFraction: 0.05,
    };
    for (const o of [{ allowRemux: false }, { watermark }]) {
      const p = await preparing(copyable);
      expect(await ladderSource(p.prepared, options(o))).toMatchObject({ fromUpload: true });
    }
  });

  it('waits for the master when the source is encoded in chunks (chunk jobs fetch the master)', async () => {
    const p = await preparing(plain);
    const pending = ladderSource(p.prepared, options({ chunked: () => Promise.resolve(true) }));
    expect(await settlesSoon(pending)).toBe(false);
    p.finish();
    expect(await pending).toMatchObject({ fromUpload: false });
  });

  it("passes the strip's verdict on: a terminal one as BullMQ's UnrecoverableError, never to the probe's handler", async () => {
    const p = await preparing(copyable);
    let probeHandled = false;
    const pending = ladderSource(p.prepared, options({ probeFailed: (err) => ((probeHandled = true), Promise.reject(err)) }));
    p.finish(new PipelineError('INGEST_TRUNCATED', 'Media data ends early.'));
    await expect(pending).rejects.toBeInstanceOf(UnrecoverableError);
    expect(probeHandled).toBe(false);
  });
});
