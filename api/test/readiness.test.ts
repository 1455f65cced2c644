import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../../test/helpers/app.ts';
import { ReadinessProbe, type ReadinessReport } from '../routes/readiness-probe.ts';

/** A stand-in clamd on TCP that counts connections: each readiness run opens exactly one (PING → PONG). */
class FakeClamd {
  connections = 0;
  healthy = true;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeClamd> {
    const server = createServer();
    const fake = new FakeClamd(server);
    server.on('connection', (sock) => {
      fake.connections += 1;
      sock.once('data', () => {
        // Unhealthy: answer something that is not PONG, as a clamd still loading its database might.
        sock.end(fake.healthy ? 'PONG\0' : 'LOADING\0');
      });
      sock.on('error', () => undefined); // the client destroys the socket once it has the reply
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return fake;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }
}

interface Answer {
  readonly status: number;
  readonly body: ReadinessReport;
}

describe('/readyz on a running app: one probe per cache window, shared by concurrent requests', () => {
  let t: TestApp;
  let clamd: FakeClamd;
  const readyz = async (): Promise<Answer> => {
    const res = await fetch(`${t.url}/readyz`);
    return { status: res.status, body: (await res.json()) as ReadinessReport };
  };
  const burst = (n: number): Promise<Answer[]> => Promise.all(Array.from({ length: n }, readyz));
  /** Polls until the app ran its checks again (a new checkedAt), i.e. the cache window has passed. */
  const nextRun = (after: string): Promise<Answer> =>
    waitFor(
      async () => {
        const a = await readyz();
        return a.body.checkedAt !== after ? a : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'a fresh readiness run' },
    );

  beforeAll(async () => {
    clamd = await FakeClamd.start();
    // The worker role makes clamd part of readiness; one pool thread keeps the app light.
    t = await startTestApp({
      roles: ['api', 'worker'],
      env: { CLAMD_HOST: '127.0.0.1', CLAMD_PORT: String(clamd.port), READINESS_CACHE_MS: '1500', TRANSCODE_POOL_SIZE: '1' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await clamd?.close();
  });

  it('50 concurrent requests run the checks once and all get the same report', async () => {
    const answers = await burst(50);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => a.body.checkedAt)).size).toBe(1);
    expect(answers[0]!.body.checks['clamd']!.status).toBe('ok');
    expect(answers[0]!.body.checks['ffmpeg']!.status).toBe('ok');
    expect(clamd.connections).toBe(1);
  });

  it('runs the checks again after the cache window, once', async () => {
    const first = (await readyz()).body.checkedAt;
    const fresh = await nextRun(first);
    expect(fresh.status).toBe(200);
    expect(clamd.connections).toBe(2);
    const answers = await burst(50);
    expect(answers.every((a) => a.body.checkedAt === fresh.body.checkedAt || a.body.checkedAt > fresh.body.checkedAt)).toBe(true);
    // At most one more run if the window happened to close during the burst.
    expect(clamd.connections).toBeLessThanOrEqual(3);
  });

  it('a failing dependency gives 503 naming the failed check, and is not re-probed per request either', async () => {
    clamd.healthy = false;
    const before = clamd.connections;
    const failed = await waitFor(
      async () => {
        const a = await readyz();
        return a.status === 503 ? a : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: '503 from /readyz' },
    );
    expect(failed.body.status).toBe('fail');
    expect(failed.body.checks['clamd']).toMatchObject({ status: 'fail', error: expect.stringContaining('LOADING') });
    expect(failed.body.checks['postgres']!.status).toBe('ok');
    expect(clamd.connections).toBe(before + 1);
    const answers = await burst(50);
    const sameRun = answers.filter((a) => a.body.checkedAt === failed.body.checkedAt);
    expect(sameRun.every((a) => a.status === 503)).toBe(true);
    expect(clamd.connections).toBeLessThanOrEqual(before + 2);
    clamd.healthy = true;
    const recovered = await waitFor(
      async () => {
        const a = await readyz();
        return a.status === 200 ? a : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: '200 from /readyz again' },
    );
    expect(recovered.body.checks['clamd']!.status).toBe('ok');
  });
});

describe('ReadinessProbe', () => {
  /** A check that stays pending until released, counting its runs. */
  function gatedCheck(): { runs: () => number; release: (err?: Error) => void; check: { name: string; run: () => Promise<void> } } {
    let runs = 0;
    let release: (err?: Error) => void = () => undefined;
    return {
      runs: () => runs,
      release: (err) => release(err),
      check: {
        name: 'gated',
        run: () => {
          runs += 1;
          return new Promise<void>((resolve, reject) => {
            release = (err) => (err ? reject(err) : resolve());
          });
        },
      },
    };
  }

  it('shares one run in flight between concurrent callers, even with no cache window', async () => {
    const g = gatedCheck();
    const probe = new ReadinessProbe({ checks: [g.check], cacheMs: 0 });
    const pending = Array.from({ length: 50 }, () => probe.report());
    expect(g.runs()).toBe(1);
    g.release();
    const reports = await Promise.all(pending);
    expect(new Set(reports).size).toBe(1);
    expect(reports[0]!.status).toBe('ok');
    // Finished and cacheMs 0: the next caller starts a new run.
    const again = probe.report();
    expect(g.runs()).toBe(2);
    g.release(new Error('disk gone'));
    expect(await again).toMatchObject({ status: 'fail', checks: { gated: { status: 'fail', error: 'disk gone' } } });
  });

  it('serves the cached report until cacheMs has passed on its clock', async () => {
    let now = 1_000_000;
    let runs = 0;
    const probe = new ReadinessProbe({
      checks: [
        {
          name: 'count',
          run: async () => {
            runs += 1;
          },
        },
        { name: 'off', run: 'skipped' },
      ],
      cacheMs: 5000,
      now: () => now,
    });
    const first = await probe.report();
    now += 4999;
    expect(await probe.report()).toBe(first);
    expect(runs).toBe(1);
    now += 1;
    const second = await probe.report();
    expect(runs).toBe(2);
    expect(second.checks['off']!.status).toBe('skipped');
  });

  it('times a hanging check out and names it', async () => {
    const probe = new ReadinessProbe({ checks: [{ name: 'hangs', run: () => new Promise<void>(() => undefined) }], timeoutMs: 50 });
    expect(await probe.report()).toMatchObject({ status: 'fail', checks: { hangs: { status: 'fail', error: 'timed out after 50 ms' } } });
  });
});
