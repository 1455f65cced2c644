import { describe, expect, it } from 'vitest';

interface Video {
  status: string;
  stage: string | null;
  progress: number;
  overallProgress: number | null;
  waiting: { for: string; since: string } | null;
  moderation: { status: string; notes: string | null };
}

/** The upload page's status sentences, loaded as the browser loads them (plain ESM, outside the type check). */
async function describeVideo(): Promise<(v: Video) => string> {
  const mod: unknown = await import(new URL('../../player/lib/status-text.js', import.meta.url).href);
  const fn: unknown = typeof mod === 'object' && mod !== null && 'describeVideo' in mod ? mod.describeVideo : undefined;
  if (typeof fn !== 'function') throw new Error('player/lib/status-text.js exports no describeVideo');
  return fn as (v: Video) => string;
}

describe('upload page status line', () => {
  const base: Video = {
    status: 'processing',
    stage: 'scan',
    progress: 0,
    overallProgress: 0,
    waiting: null,
    moderation: { status: 'pending', notes: null },
  };

  it('says what a waiting video waits for, and that it continues by itself', async () => {
    const text = await describeVideo();
    const since = new Date().toISOString();
    expect(text({ ...base, stage: 'waiting', waiting: { for: 'clamd', since } })).toBe(
      'Waiting for the virus scanner… Your video is safe and continues automatically.',
    );
    expect(text({ ...base, stage: 'waiting', waiting: { for: 'disk', since } })).toMatch(/^Waiting for disk space/);
    expect(text({ ...base, stage: 'waiting', waiting: { for: 'storage', since } })).toMatch(/^Waiting for the video storage/);
  });

  it('names the stage and its progress otherwise', async () => {
    const text = await describeVideo();
    expect(text({ ...base, stage: 'transcode', progress: 41.6, overallProgress: 43.0 })).toBe('Converting for every screen size… 43% done');
    expect(text({ ...base, status: 'uploaded', stage: null })).toBe('Uploaded. Waiting for processing to start…');
  });
});
