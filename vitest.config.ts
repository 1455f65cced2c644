import { defineConfig } from 'vitest/config';

/**
 * Files that run ffmpeg ladders, browsers or several services, or wait on outages and backoffs: one at a time, after
 * the rest, so two of them never halve each other's speed into a timeout on a 2-core box. A new file of that kind
 * belongs here.
 */
export const SERIAL = [
  'api/test/downloads.test.ts',
  'api/test/integrations.test.ts',
  'api/test/readiness.test.ts',
  'api/test/webhooks.test.ts',
  'bench/test/bench.test.ts',
  'ingest/test/restart.test.ts',
  'ingest/test/upload-finish.test.ts',
  'media/test/media-layer.test.ts',
  'media/test/user-data.test.ts',
  'ops/test/backup.test.ts',
  'ops/test/cli-help.test.ts',
  'packager/test/chunked.test.ts',
  'packager/test/package.test.ts',
  'packager/test/progressive-failure.test.ts',
  'packager/test/progressive.test.ts',
  'pipeline/test/artwork.test.ts',
  'pipeline/test/av-sync.test.ts',
  'pipeline/test/outage.test.ts',
  'pipeline/test/pipeline.test.ts',
  'pipeline/test/reconcile-pipeline.test.ts',
  'pipeline/test/scan-retry.test.ts',
  'pipeline/test/transcode-worker.test.ts',
  'test/e2e.test.ts',
  'test/faults/edges.test.ts',
  'test/faults/outages.test.ts',
  'test/faults/worker-crash.test.ts',
  'test/hostile-upload.test.ts',
  'test/scale-out.test.ts',
  'test/web/*.test.ts',
  'transcoder/test/transcode.test.ts',
];

const shared = {
  exclude: ['node_modules/**', 'data/**'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        // The other files spend most of their time starting a test process and importing modules: two at a time.
        test: {
          ...shared,
          name: 'quick',
          include: ['**/*.test.ts'],
          exclude: [...shared.exclude, ...SERIAL],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      { test: { ...shared, name: 'serial', include: SERIAL, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
