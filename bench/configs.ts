import os from 'node:os';
import type { SourceSpec } from './sources.ts';
import { sourceId } from './sources.ts';
import type { BenchConfig } from './types.ts';

const MiB = 1024 * 1024;

/**
 * tus chunkSize of the upload page (player/upload.html data-chunk-bytes; a bench test keeps the two equal): the
 * ingest scenario also measures uploads sent the way browsers send them.
 */
export const UPLOAD_PAGE_CHUNK_BYTES = 8 * MiB;

const QUICK_SOURCES: readonly SourceSpec[] = [
  { content: 'grain', width: 640, height: 360, fps: 30, durationSec: 2 },
  { content: 'grain', width: 1920, height: 1080, fps: 30, durationSec: 1 },
];

/** CI smoke: a tiny subset that finishes in well under 2 minutes on 2 cores; its figures are noisy by design. */
export function quickConfig(): BenchConfig {
  return {
    mode: 'quick',
    repeats: 2,
    sources: QUICK_SOURCES,
    presets: ['veryfast', 'ultrafast'],
    capacitySource: sourceId(QUICK_SOURCES[1]!),
    scalingJobs: [1, 2],
    scalingThreads: ['auto'],
    preset: 'veryfast',
    ingest: { bytes: 48 * MiB, chunkBytes: 16 * MiB },
    e2eSources: [{ content: 'grain', width: 640, height: 360, fps: 30, durationSec: 4, bitrateKbps: 2_000 }],
    scaleOut: { source: { content: 'grain', width: 320, height: 180, fps: 30, durationSec: 24, bitrateKbps: 800 }, chunkSec: 6 },
    analyticsLoad: { rate: 500, seconds: 3 },
  };
}

const FULL_SOURCES: readonly SourceSpec[] = [
  { content: 'grain', width: 640, height: 360, fps: 30, durationSec: 10 },
  { content: 'grain', width: 1280, height: 720, fps: 30, durationSec: 10 },
  { content: 'grain', width: 1920, height: 1080, fps: 30, durationSec: 10 },
  { content: 'fractal', width: 1920, height: 1080, fps: 60, durationSec: 6 },
  { content: 'life', width: 1920, height: 1080, fps: 24, durationSec: 10 },
  { content: 'bars', width: 1920, height: 1080, fps: 30, durationSec: 10 },
  { content: 'grain', width: 3840, height: 2160, fps: 30, durationSec: 4 },
];

/**
 * End to end from 10 s to 10 min and 360p to 2160p, at the bitrates phones record at; the 30 s 1080p grain clip is
 * the one the pipeline was first measured on (1.21–1.26× the hand-written command).
 */
export const E2E_SOURCES: readonly SourceSpec[] = [
  { content: 'grain', width: 640, height: 360, fps: 30, durationSec: 10, bitrateKbps: 2_000 },
  { content: 'grain', width: 1920, height: 1080, fps: 30, durationSec: 30, bitrateKbps: 16_000 },
  { content: 'grain', width: 3840, height: 2160, fps: 30, durationSec: 10, bitrateKbps: 45_000 },
  { content: 'grain', width: 1280, height: 720, fps: 30, durationSec: 600, bitrateKbps: 8_000 },
];

/** Concurrency steps up to the machine's threads: 1, 2, half, all. */
export function defaultScalingJobs(threads = os.availableParallelism()): number[] {
  return [...new Set([1, 2, Math.ceil(threads / 2), threads].filter((n) => n >= 1 && n <= Math.max(threads, 2)))].sort((a, b) => a - b);
}

/** ffmpeg's own choice, one thread per job (many small jobs), and the cores shared out evenly. */
const FULL_SCALING_THREADS = ['auto', 1, 'split'] as const;

/** The full suite: every resolution 360p–2160p, 24–60 fps, realistic and flat content, 1 GiB ingest, 3 repeats. */
export function fullConfig(): BenchConfig {
  return {
    mode: 'full',
    repeats: 3,
    sources: FULL_SOURCES,
    presets: ['veryfast', 'ultrafast', 'faster', 'medium'],
    capacitySource: sourceId(FULL_SOURCES[2]!),
    scalingJobs: defaultScalingJobs(),
    scalingThreads: FULL_SCALING_THREADS,
    preset: 'veryfast',
    ingest: { bytes: 1024 * MiB, chunkBytes: 64 * MiB },
    e2eSources: E2E_SOURCES,
    // The measure: a 10-minute 720p upload; chunks of 60 s (30 s and more cost ~1 % CPU, bench/chunked-cost.ts).
    scaleOut: { source: E2E_SOURCES[3]!, chunkSec: 60 },
    // The load target: 500 beacons/s with p99 < 50 ms on this box.
    analyticsLoad: { rate: 500, seconds: 10 },
  };
}
