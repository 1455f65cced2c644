import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../core/metrics.ts';
import { createLogger } from '../logger.ts';
import { serveWorkerMetrics } from '../worker-metrics.ts';

describe('worker metrics endpoint', () => {
  it('serves the registry at GET /metrics and nothing else', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.jobsStalled.inc();
    metrics.reconcilerRepairs.inc({ reason: 'job_missing' });
    const server = await serveWorkerMetrics({ metrics, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'silent' }) });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const body = await res.text();
      expect(body).toContain('kidstream_jobs_stalled_total 1');
      expect(body).toContain('kidstream_reconciler_repairs_total{reason="job_missing"} 1');
      expect(body).toContain('kidstream_videos_stuck 0');
      expect((await fetch(server.url.replace('/metrics', '/healthz'))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
