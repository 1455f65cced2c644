import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../core/errors.ts';
import { makeClip } from '../../test/helpers/media.ts';
import { buildLadderPlan, plannedRenditions, type FfmpegPlan } from '../command.ts';
import { planLadder } from '../ladder.ts';
import { FfmpegPool } from '../pool.ts';
import { probeOf } from './fixtures.ts';

const logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

let tmp: string;
let clip: string;
let n = 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A one-rung plan for the 160x90 clip; `realtime` reads the input at 1× (-re) so a run lasts the clip's 10 s. */
async function planFor(realtime: boolean): Promise<FfmpegPlan> {
  const outDir = path.join(tmp, `out${n++}`);
  const rungs = planLadder(probeOf(160, 90));
  for (const r of plannedRenditions(rungs, true)) await mkdir(path.join(outDir, r.dir), { recursive: true });
  const plan = buildLadderPlan({ input: { path: clip, demuxer: 'mov' }, outDir, rungs, hasAudio: true, preset: 'ultrafast', threads: 1 });
  return realtime ? { ...plan, inputOptions: [...plan.inputOptions, '-re'] } : plan;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-pool-'));
  clip = await makeClip({ out: path.join(tmp, 'clip.mp4'), durationSec: 10, width: 160, height: 90 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('FfmpegPool', () => {
  it('starts threads after their handshake and runs ffmpeg on them with 0–100 progress', async () => {
    const pool = await FfmpegPool.create({ ffmpegPath: 'ffmpeg', setprivPath: 'setpriv', logger, size: 2 });
    try {
      expect(pool.stats()).toEqual({ threads: 2, busy: 0, queued: 0 });
      const progress: number[] = [];
      const plan = await planFor(false);
      await pool.run(plan, { durationSec: 10, onProgress: (p) => progress.push(p) });
      expect(progress.at(-1)).toBe(100);
      expect(progress.every((p, i) => p >= 0 && p <= 100 && (i === 0 || p >= progress[i - 1]!))).toBe(true);
      expect(await readdir(path.dirname(plan.outputs[0]!.path))).toContain('index.m3u8');
    } finally {
      await pool.close();
    }
  });

  it('queues runs beyond its size and cancels with SIGTERM: TRANSCODE_CANCELLED, ffmpeg gone, thread reusable', async () => {
    const pool = await FfmpegPool.create({ ffmpegPath: 'ffmpeg', setprivPath: 'setpriv', logger, size: 1, killTimeoutMs: 2000 });
    try {
      const ac = new AbortController();
      let pid = 0;
      const first = pool.run(await planFor(true), {
        durationSec: 10,
        signal: ac.signal,
        onSpawn: (p) => {
          pid = p;
        },
      });
      const second = pool.run(await planFor(false), { durationSec: 10 });
      expect(pool.stats()).toMatchObject({ threads: 1, busy: 1, queued: 1 });
      await until(() => pid > 0, 'ffmpeg to spawn');
      ac.abort();
      const err = await first.catch((e: unknown) => e);
      expect(isPipelineError(err, 'TRANSCODE_CANCELLED')).toBe(true);
      expect(alive(pid)).toBe(false);
      await second; // the same thread takes the queued run after the cancel
      expect(pool.stats()).toEqual({ threads: 1, busy: 0, queued: 0 });
      // A run cancelled while it waits for a thread leaves the queue without ever starting ffmpeg.
      const busy = pool.run(await planFor(true), { durationSec: 10 }).catch((e: unknown) => e);
      const waitingAc = new AbortController();
      let spawned = false;
      const waiting = pool.run(await planFor(false), {
        durationSec: 10,
        signal: waitingAc.signal,
        onSpawn: () => {
          spawned = true;
        },
      });
      expect(pool.stats().queued).toBe(1);
      waitingAc.abort();
      expect(isPipelineError(await waiting.catch((e: unknown) => e), 'TRANSCODE_CANCELLED')).toBe(true);
      expect(pool.stats().queued).toBe(0);
      expect(spawned).toBe(false);
      await pool.close();
      expect(isPipelineError(await busy, 'TRANSCODE_CANCELLED')).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('reports an ffmpeg killed from outside as TRANSCODE_FFMPEG_FAILED (retryable) with the stderr tail', async () => {
    const pool = await FfmpegPool.create({ ffmpegPath: 'ffmpeg', setprivPath: 'setpriv', logger, size: 1 });
    try {
      const run = pool.run(await planFor(true), { durationSec: 10, onSpawn: (pid) => setTimeout(() => process.kill(pid, 'SIGKILL'), 300) });
      const err = await run.catch((e: unknown) => e);
      expect(isPipelineError(err, 'TRANSCODE_FFMPEG_FAILED')).toBe(true);
      const ctx = (err as { context: { stderrTail: string; commandLine: string } }).context;
      expect(ctx.stderrTail).toMatch(/Input #0|frame=/);
      expect(ctx.commandLine).toContain('-filter_complex');
    } finally {
      await pool.close();
    }
  });

  it('fails create() with TRANSCODE_POOL_START_FAILED when no thread passes the handshake', async () => {
    const err = await FfmpegPool.create({ ffmpegPath: 'ffmpeg', logger, size: 2, entry: fixture('thread-throws.mjs') }).catch(
      (e: unknown) => e,
    );
    expect(isPipelineError(err, 'TRANSCODE_POOL_START_FAILED')).toBe(true);
    expect((err as { context: { failures: string[] } }).context.failures).toHaveLength(2);
  });

  it('drops a thread that dies mid-run and never reuses it; the run fails with TRANSCODE_FFMPEG_FAILED', async () => {
    const pool = await FfmpegPool.create({ ffmpegPath: 'ffmpeg', logger, size: 2, entry: fixture('thread-dies-on-run.mjs') });
    try {
      expect(pool.stats().threads).toBe(2);
      const err = await pool.run(await planFor(false), { durationSec: 10 }).catch((e: unknown) => e);
      expect(isPipelineError(err, 'TRANSCODE_FFMPEG_FAILED')).toBe(true);
      expect(pool.stats().threads).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('close() is idempotent: queued runs get TRANSCODE_POOL_CLOSED, the running ffmpeg is stopped, later runs refused', async () => {
    const pool = await FfmpegPool.create({ ffmpegPath: 'ffmpeg', setprivPath: 'setpriv', logger, size: 1, killTimeoutMs: 1000 });
    let pid = 0;
    const running = pool
      .run(await planFor(true), {
        durationSec: 10,
        onSpawn: (p) => {
          pid = p;
        },
      })
      .catch((e: unknown) => e);
    const queued = pool.run(await planFor(false), { durationSec: 10 }).catch((e: unknown) => e);
    await until(() => pid > 0, 'ffmpeg to spawn');
    const closing = pool.close();
    expect(pool.close()).toBe(closing);
    await closing;
    expect(isPipelineError(await queued, 'TRANSCODE_POOL_CLOSED')).toBe(true);
    expect(isPipelineError(await running, 'TRANSCODE_CANCELLED')).toBe(true);
    expect(alive(pid)).toBe(false);
    expect(pool.stats().threads).toBe(0);
    const late = await pool.run(await planFor(false), { durationSec: 10 }).catch((e: unknown) => e);
    expect(isPipelineError(late, 'TRANSCODE_POOL_CLOSED')).toBe(true);
  });
});
