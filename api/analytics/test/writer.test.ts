import { describe, expect, it } from 'vitest';
import type { RawBatch } from '../../../db/analytics.ts';
import type { AnalyticsRepository } from '../../../db/analytics.ts';
import { Analytics } from '../service.ts';
import { AnalyticsSessions } from '../session-token.ts';
import { BeaconWriter } from '../writer.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const batch = (seq: number): RawBatch => ({
  videoId: 'v',
  day: '2026-01-01',
  session: Buffer.alloc(16),
  events: [{ seq, kind: 'end', atMs: 0, data: {} }],
});

/** An insert the test finishes by hand, recording what each statement carried. */
function manualInsert(): { calls: number[][]; finish(i: number, err?: Error): void; insert(b: readonly RawBatch[]): Promise<void> } {
  const calls: number[][] = [];
  const settle: Array<{ ok(): void; fail(e: Error): void }> = [];
  return {
    calls,
    finish: (i, err) => (err ? settle[i]!.fail(err) : settle[i]!.ok()),
    insert: (b) => {
      calls.push(b.map((x) => x.events[0]!.seq));
      return new Promise((ok, fail) => settle.push({ ok: () => ok(), fail }));
    },
  };
}

describe('beacon group commit', () => {
  it('writes at once when idle, and groups what arrives while its INSERTs run', async () => {
    const m = manualInsert();
    const w = new BeaconWriter({ insert: m.insert, concurrency: 1 });
    const first = w.write(batch(0));
    expect(m.calls).toEqual([[0]]);
    const rest = [1, 2, 3].map((s) => w.write(batch(s)));
    expect(m.calls).toHaveLength(1); // queued behind the running INSERT
    m.finish(0);
    await first;
    await tick();
    expect(m.calls).toEqual([[0], [1, 2, 3]]);
    m.finish(1);
    await Promise.all(rest);
  });

  it('fails every beacon of a failed group, and only those', async () => {
    const m = manualInsert();
    const w = new BeaconWriter({ insert: m.insert, concurrency: 1 });
    const a = w.write(batch(0));
    const b = [w.write(batch(1)), w.write(batch(2))];
    m.finish(0, new Error('db down'));
    await expect(a).rejects.toThrow('db down');
    await tick();
    expect(m.calls).toEqual([[0], [1, 2]]);
    const c = w.write(batch(3));
    m.finish(1);
    await Promise.all(b);
    await tick();
    expect(m.calls).toEqual([[0], [1, 2], [3]]);
    m.finish(2);
    await c;
  });

  it('drain writes the open group and waits for every running INSERT', async () => {
    const m = manualInsert();
    const w = new BeaconWriter({ insert: m.insert, concurrency: 1 });
    void w.write(batch(0));
    void w.write(batch(1));
    let drained = false;
    const d = w.drain().then(() => (drained = true));
    expect(m.calls).toEqual([[0], [1]]);
    m.finish(0);
    await Promise.resolve();
    expect(drained).toBe(false);
    m.finish(1);
    await d;
  });

  it('counts the backlog until each INSERT finishes', async () => {
    const m = manualInsert();
    const w = new BeaconWriter({ insert: m.insert, concurrency: 1 });
    const a = w.write(batch(0));
    const b = w.write(batch(1));
    expect(w.backlog).toBe(2);
    m.finish(0);
    await a;
    await tick();
    expect(w.backlog).toBe(1);
    m.finish(1);
    await b;
    await tick();
    expect(w.backlog).toBe(0);
  });
});

describe('beacon intake', () => {
  const VIDEO = '00000000-0000-4000-8000-000000000001';
  const sessions = new AnalyticsSessions({ key: 'k'.repeat(40), ttlSec: 3600 });
  const body = (seq: number) => ({
    videoId: VIDEO,
    session: sessions.issue(VIDEO),
    events: [{ type: 'end' as const, seq, at: 0, pos: 1 }],
  });

  it('answers once accepted, reports a failed INSERT, and waits for the database when too far behind', async () => {
    const m = manualInsert();
    const lost: number[] = [];
    const repo = { insert: m.insert } as unknown as AnalyticsRepository;
    const a = new Analytics({ repo, sessions, rawRetentionDays: 7, maxBacklog: 1, onWriteError: (_e, n) => lost.push(n) });
    await a.ingest(body(0)); // resolves before its INSERT finished
    m.finish(0, new Error('db down'));
    await tick();
    expect(lost).toEqual([1]);
    void a.ingest(body(1));
    let stored = false;
    const waiting = a.ingest(body(2)).then(() => (stored = true)); // backlog 2 > 1: waits for its INSERT
    await tick();
    expect(stored).toBe(false);
    m.finish(1);
    await tick();
    m.finish(2);
    await waiting;
  });
});
