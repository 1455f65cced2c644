import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SourceProbe } from '../../core/types.ts';
import { TEST_REDIS_URL } from '../../test/helpers/env.ts';
import { chunkSlots, chunkWorkerName, slotsOfClient } from '../chunk-slots.ts';
import { chunkingDeps } from '../chunked-run.ts';
import { redisConnection } from '../redis.ts';

const probe = (durationSec: number): SourceProbe => ({
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec,
  sizeBytes: 1,
  video: { codec: 'h264', width: 1280, height: 720, fps: 30, pixFmt: 'yuv420p', rotation: 0, bitRate: null },
  audio: null,
});

describe('chunk worker names', () => {
  it('carry the slots, and anything else counts as one', () => {
    const name = chunkWorkerName(3, 'ax42 main/1');
    expect(name).toBe('slots=3@ax42_main_1');
    expect(slotsOfClient(`ks:Y2h1bms=:w:${name}`)).toBe(3);
    expect(slotsOfClient('ks:Y2h1bms=')).toBe(1); // a worker started without a name
    expect(slotsOfClient('ks:Y2h1bms=:w:someone-else')).toBe(1);
    expect(slotsOfClient(undefined)).toBe(1);
    expect(chunkWorkerName(0, 'h')).toBe('slots=1@h');
  });
});

describe('chunk slots of the connected workers (real Redis)', () => {
  const prefix = `ks-slots-${randomUUID()}`;
  const name = 'chunk';
  const queue = new Queue(name, { connection: redisConnection(TEST_REDIS_URL), prefix });
  let workers: Worker[] = [];
  const start = async (workerName: string | undefined): Promise<void> => {
    const w = new Worker(name, async () => undefined, {
      connection: redisConnection(TEST_REDIS_URL),
      prefix,
      ...(workerName ? { name: workerName } : {}),
    });
    await w.waitUntilReady();
    workers.push(w);
  };
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('sums every connected worker, and a long source is chunked only from two slots on', async () => {
    const deps = chunkingDeps(queue as never, { chunkSec: 60, minSourceSec: 300, minSlots: 2 }, { attempts: 1, backoffMs: 1 });
    expect(await chunkSlots(queue)).toBe(0);
    expect(await deps.plan(probe(600))).toBe(false); // no chunk worker at all

    await start(chunkWorkerName(1, 'box-a'));
    expect(await chunkSlots(queue)).toBe(1);
    expect(await deps.plan(probe(600))).toBe(false); // one slot: chunks would only queue behind each other

    await start(chunkWorkerName(3, 'box-b'));
    await start(undefined);
    expect(await chunkSlots(queue)).toBe(5);
    expect(await deps.plan(probe(600))).toBe(true);
    expect(await deps.plan(probe(120))).toBe(false); // too short whatever the slots
  });

  it('CHUNK_MIN_SLOTS=1 chunks on a single slot, as before', async () => {
    await start(chunkWorkerName(1, 'box-a'));
    const deps = chunkingDeps(queue as never, { chunkSec: 60, minSourceSec: 300, minSlots: 1 }, { attempts: 1, backoffMs: 1 });
    expect(await deps.plan(probe(600))).toBe(true);
  });

  it('chunks as before when the server does not list its clients', async () => {
    const refusing = { getWorkers: () => Promise.reject(new Error('ERR unknown command CLIENT')) };
    expect(await chunkSlots(refusing as never)).toBeUndefined();
    const gcp = { getWorkers: () => Promise.resolve([{ name: 'GCP does not support client list' }]) };
    expect(await chunkSlots(gcp as never)).toBeUndefined();
  });
});
