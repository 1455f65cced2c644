// @ts-check
// What the upload page says about a video that is on its way: the processing stage, or what it is waiting for.

/** @typedef {import('./session.js').VideoDetail} VideoDetail */

/** @type {Readonly<Record<string, string>>} */
const STAGES = {
  scan: 'Checking for viruses',
  validate: 'Checking the file',
  strip: 'Removing hidden metadata (location, device)',
  probe: 'Analysing the video',
  archive: 'Saving a safe copy',
  transcode: 'Converting for every screen size',
  package: 'Packaging',
  done: 'Finishing',
};

/**
 * A service the job needs is down: the video waits and continues by itself (api/routes/video-view.ts `waiting`).
 * @type {Readonly<Record<string, string>>}
 */
const WAITING = {
  clamd: 'Waiting for the virus scanner',
  database: 'Waiting for the server to come back',
  storage: 'Waiting for the video storage',
  disk: 'Waiting for disk space on the server',
};

/**
 * One sentence for the status line while the page follows a video.
 * @param {VideoDetail} v
 */
export function describeVideo(v) {
  if (v.status === 'uploaded') return 'Uploaded. Waiting for processing to start…';
  if (v.status === 'processing' && v.waiting)
    return `${WAITING[v.waiting.for] ?? 'Waiting'}… Your video is safe and continues automatically.`;
  if (v.status === 'processing') return `${STAGES[v.stage ?? ''] ?? 'Processing'}… ${Math.round(v.overallProgress ?? 0)}% done`;
  if (v.moderation.status === 'approved') return 'Published. Everyone can watch it now.';
  if (v.moderation.status === 'rejected')
    return `A moderator did not accept this video${v.moderation.notes ? `: ${v.moderation.notes}` : '.'}`;
  return 'Ready. A moderator will review it before others can watch.';
}
