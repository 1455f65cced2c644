import { startPoller, type Poller } from '../core/poller.ts';
import { listStills } from '../transcoder/stills.ts';
import type { ArtworkPlan } from './artwork.ts';
import { POSTER_CANDIDATES, writePosters, type PosterResult } from './posters.ts';

/**
 * Writes the posters while the ladder still runs. The candidates sit at 10–85 % of the video, so all of them are on
 * disk well before ffmpeg exits (image2 writes each frame atomically: a listed frame is whole). Scoring them and
 * encoding the chosen one at three widths, JPEG and WebP, took 0.1–0.5 s after ffmpeg had exited, time the row's
 * `ready` waited for; now it overlaps the last 15 % of the encode. When not every candidate arrives (a source shorter
 * than its container said), writeArtwork writes the posters at the end from what ffmpeg left, as before.
 */
export class EarlyPosters {
  private readonly plan: ArtworkPlan;
  private readonly outDir: string;
  private readonly pollMs: number;
  private poller: Poller | undefined;
  private job: Promise<PosterResult> | undefined;

  constructor(plan: ArtworkPlan, outDir: string, pollMs = 250) {
    this.plan = plan;
    this.outDir = outDir;
    this.pollMs = pollMs;
  }

  /** Starts watching the candidates directory. */
  start(): void {
    this.poller = startPoller(() => this.check(), this.pollMs);
  }

  private async check(): Promise<void> {
    if (this.job) return;
    // The directory may not exist yet (ffmpeg not started); the next tick looks again.
    const found = await listStills(this.plan.candidates, POSTER_CANDIDATES).catch(() => []);
    if (found.length < POSTER_CANDIDATES || !this.poller?.active) return;
    this.job = writePosters({ candidates: found, outDir: this.outDir });
    // Its failure is reported by whoever takes `posters`; a run that failed before that never asks.
    this.job.catch(() => undefined);
  }

  /** The posters being written or written, or undefined when the candidates were not all there in time. */
  get posters(): Promise<PosterResult> | undefined {
    return this.job;
  }

  /**
   * Stops looking for candidates (waits for a look in flight); a poster write already started goes on, and `posters`
   * still gives it. Idempotent.
   */
  async stopWatching(): Promise<void> {
    await this.poller?.stop();
  }

  /**
   * Stops watching and waits for a check or a poster write in flight, so the caller may remove the work dir after.
   * Idempotent.
   */
  async stop(): Promise<void> {
    await this.stopWatching();
    await this.job?.catch(() => undefined);
  }
}
