import { describe, expect, it } from 'vitest';
import { overallProgress } from '../routes/video-view.ts';

describe('overall progress (one bar from upload to ready)', () => {
  const at = (status: string, stage: string | null, progress: number) => overallProgress({ status: status as never, stage, progress });

  it('only ever grows through the stages of a normal run, and reaches 100 only when ready', () => {
    const run = [
      at('uploaded', null, 0),
      at('processing', 'scan', 0),
      at('processing', 'scan', 100),
      at('processing', 'probe', 0),
      at('processing', 'transcode', 0),
      at('processing', 'transcode', 50),
      at('processing', 'transcode', 100),
      at('processing', 'package', 100),
      at('ready', 'done', 100),
    ] as number[];
    for (let i = 1; i < run.length; i++) expect(run[i]).toBeGreaterThanOrEqual(run[i - 1]!);
    expect(run.slice(0, -1).every((p) => p < 100)).toBe(true);
    expect(run.at(-1)).toBe(100);
    // The encode is most of the wait, so most of the bar.
    expect(at('processing', 'transcode', 100)! - at('processing', 'transcode', 0)!).toBeGreaterThan(80);
  });

  it('says nothing while a job waits for a service or after a failure', () => {
    expect(at('processing', 'waiting', 40)).toBeNull();
    for (const s of ['failed', 'rejected', 'infected']) expect(at(s, 'transcode', 40)).toBeNull();
  });
});
