import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.ts';
import { makeClip } from '../helpers/media.ts';
import { tusUpload } from '../helpers/tus-upload.ts';
import { startDeployment, type Deployment } from './deployment.ts';

describe('faults: a worker SIGKILLed mid-transcode', () => {
  let d: Deployment;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ks-fault-crash-'));
    d = await startDeployment();
  });
  afterAll(async () => {
    await d?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('the job is taken over, the video ends ready, the takeover is logged, and nothing unreferenced is left', async () => {
    const clip = await makeClip({ out: path.join(tmp, 'long.mp4'), durationSec: 20, width: 640, height: 360 });
    const up = await tusUpload(`${d.url}/uploads`, clip, { title: 'Crash me' }, { uploaderId: 'fault-family' });
    await waitFor(async () => ((await d.video(up.videoId)).stage === 'transcode' ? true : undefined), {
      timeoutMs: 60_000,
      what: 'transcode to start',
    });
    await d.restartWorker('SIGKILL');
    const v = await d.settled(up.videoId);
    expect(v.status).toBe('ready');
    // The takeover is visible: the new worker logged the stall and re-queue, and counted it.
    await d.worker.waitForLog(
      (l) => l['videoId'] === up.videoId && String(l.msg).startsWith('transcode job stalled'),
      'the stall log line',
    );
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/kidstream_jobs_stalled_total/);
    expect(await d.unreferencedFiles()).toEqual([]);
  });
});
