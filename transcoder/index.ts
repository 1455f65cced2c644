/**
 * Public API of the transcoder stage. pool-thread.ts (the worker-thread entry) is deliberately not exported.
 *
 * - probeSource: ffprobe → SourceProbe (TRANSCODE_PROBE_FAILED / TRANSCODE_NO_VIDEO)
 * - planLadder, pictureFixes, remuxBlocker: pure planning from a probe
 * - buildLadderPlan: one ffmpeg command (as data) for a ladder; planTranscode adds the quick-path decision
 * - transcodeLadder: plan + run (in-process or on an FfmpegPool)
 * - FfmpegPool: worker threads that each supervise one ffmpeg child
 * - keyframeTimes / keyframesAligned: packet-level keyframe checks (quick path, tests, benchmarks)
 */
export { buildLadderPlan, GOP_SECONDS, SEGMENT_SECONDS, plannedRenditions, type FfmpegPlan, type PlannedRendition } from './command.ts';
export { keyframesAligned, keyframeTimes } from './keyframes.ts';
export { APPLE_LADDER, pictureFixes, planLadder, remuxBlocker, type PictureFixes } from './ladder.ts';
export { FfmpegPool, type FfmpegPoolOptions, type PoolRunOptions } from './pool.ts';
export { probeSource } from './probe.ts';
export { runFfmpeg, type Logger } from './run-ffmpeg.ts';
export { planTranscode, transcodeLadder, type TranscodeLadderOptions, type TranscodePlan, type TranscodeResult } from './transcode.ts';
