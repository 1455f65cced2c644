import type { Logger } from '../core/logger.ts';
import type { PipelineMetrics } from '../core/metrics.ts';
import type { StuckVideoRow, UnfinishedVideos } from '../db/unfinished-videos.ts';

export interface StuckCheckOptions {
  readonly records: UnfinishedVideos;
  /** STUCK_VIDEO_MINUTES: an unfinished video whose row has not changed for this long is stuck. */
  readonly minutes: number;
  readonly logger: Pick<Logger, 'warn'>;
  readonly metrics?: PipelineMetrics;
}

/**
 * Finds videos that stopped moving: `uploaded` or `processing` with no change to their row (stage, progress) for
 * `minutes`. A transcode writes progress every second, so this catches a job nobody runs (no worker, a job the
 * reconciler could not re-queue) or one that hangs, not a long video. Each stuck spell is logged once across all
 * processes (the row records it); the gauge is the deployment-wide count, the same on every worker.
 */
export async function checkStuckVideos(o: StuckCheckOptions): Promise<{ stuck: number; reported: StuckVideoRow[] }> {
  const reported = await o.records.reportNewlyStuck(o.minutes);
  for (const v of reported) {
    o.logger.warn(
      { videoId: v.id, status: v.status, stage: v.stage, unchangedSince: v.updated_at.toISOString(), minutes: o.minutes },
      'video stuck: unfinished and unchanged for STUCK_VIDEO_MINUTES',
    );
  }
  const stuck = await o.records.countStuck(o.minutes);
  o.metrics?.videosStuck.set(stuck);
  return { stuck, reported };
}
