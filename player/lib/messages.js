// @ts-check
// What each error code means for the person looking at the page. Codes come from core/errors.ts;
// test/web/messages.test.ts fails when a code that can reach a page has no entry here.
const OUR_SIDE = 'Processing failed on our side. A moderator can retry it, or you can upload the video again.';
const NOT_STORED = 'Saving the video failed on our side. Please try again later.';
const NOT_PACKAGED = 'Preparing the video for playback failed on our side. Please try again later.';

/** @type {Readonly<Record<string, string>>} */
export const MESSAGES = Object.freeze({
  INGEST_TOO_LARGE: 'This file is too large to upload. Please trim it or export a smaller version.',
  INGEST_BAD_METADATA: 'Please give the video a title (up to 200 characters).',
  INGEST_QUOTA_OPEN_UPLOADS: 'You have too many uploads in progress. Finish or cancel one, then try again.',
  INGEST_QUOTA_BYTES: "You have reached today's upload allowance. Please try again tomorrow or choose a smaller file.",
  INGEST_TOKEN_MISSING: 'Your upload permission is missing. Reload the page and try again.',
  INGEST_TOKEN_INVALID: 'Your upload permission is not valid. Reload the page and try again.',
  INGEST_TOKEN_EXPIRED: 'Your upload permission expired. Press Upload again to get a new one.',
  INGEST_CHECKSUM_UNSUPPORTED: 'Your browser sent the upload in a way this server does not support. Reload the page and try again.',
  INGEST_CHECKSUM_MISMATCH: 'Part of the file was damaged on the way; it is being sent again.',
  INGEST_CONCAT_INVALID: 'The upload could not be put together. Please start it again.',
  INGEST_DISK_FULL: 'The server is short of storage space right now. Please try again later; nothing you sent is lost.',
  INGEST_FINISH_PENDING: 'Your file arrived completely. We are still saving it as a video; this page retries on its own.',
  INGEST_UNAVAILABLE: 'The upload service is busy right now. Please try again in a minute.',
  INGEST_INTERNAL: 'Something went wrong on our side while uploading. Please try again later.',
  INGEST_UPLOAD_NOT_FOUND: 'This upload no longer exists. Please start it again.',
  INGEST_UPLOAD_GONE: 'This upload no longer exists (it expired or its video was deleted). Please start it again.',
  INGEST_OFFSET_MISMATCH: 'The upload got out of step with the server; it resumes from where the server is.',
  INGEST_UPLOAD_BUSY: 'This upload is busy in another tab or request. It continues in a moment.',
  INGEST_PROTOCOL_INVALID: 'Your browser sent the upload in a way this server does not support. Reload the page and try again.',
  INGEST_TUS_VERSION: 'This page is out of date. Reload it and try again.',
  INGEST_CONTENT_TYPE: 'Your browser sent the upload in a way this server does not support. Reload the page and try again.',
  INGEST_RATE_LIMITED: 'Too many upload requests in a short time. Please wait a minute, then resume.',
  INGEST_NOT_VIDEO_FILE: 'This file is not a video (it may be a document, an archive or a photo). Choose a video file, such as MP4 or MOV.',
  INGEST_EMPTY: 'The file is empty. Choose the video file itself.',
  INGEST_UNREADABLE: 'This file could not be read as a video. It may be damaged or in an unsupported format.',
  INGEST_UNSUPPORTED_CONTAINER:
    'This kind of file is not accepted. Upload the video file itself (such as MP4, MOV, MKV or WebM), not a playlist or link file.',
  INGEST_NOT_VIDEO: 'This file is not a video (it may be audio, an image or a document). Choose a video file.',
  INGEST_BAD_DIMENSIONS: 'The video has an unusual picture size we cannot process.',
  INGEST_BAD_DURATION: 'The video has no usable length. It may be incomplete.',
  INGEST_TOO_LONG: 'The video is longer than allowed. Please upload a shorter clip.',
  INGEST_TRUNCATED: 'The file is incomplete (it ends early). Upload the complete file.',
  INGEST_INFECTED: 'Our virus scanner found malware in this file. It has been quarantined and will not be published.',
  INGEST_SCAN_UNAVAILABLE: 'The virus scanner was unavailable. A moderator can retry the video once it is back.',
  INGEST_SCAN_FAILED: 'The virus scan could not finish. Please try again later.',
  INGEST_SOURCE_CHANGED: 'The uploaded file changed while it was being checked. If this keeps happening, upload it again.',
  INGEST_STRIP_FAILED: 'We could not prepare this file for processing. Please try another export of the video.',
  TRANSCODE_PROBE_FAILED: 'This file could not be read as a video.',
  TRANSCODE_NO_VIDEO: 'This file has no video picture. Choose a video file.',
  TRANSCODE_FFMPEG_FAILED: OUR_SIDE,
  TRANSCODE_SOURCE_MISSING: 'The uploaded file could not be found for processing. A moderator can retry it, or upload it again.',
  TRANSCODE_SOURCE_CORRUPT: 'The video stops part-way through (the file is damaged or incomplete). Export or upload the original again.',
  TRANSCODE_CANCELLED: 'Processing of this video was cancelled. A moderator can start it again.',
  TRANSCODE_POOL_START_FAILED: OUR_SIDE,
  TRANSCODE_POOL_CLOSED: 'The server is restarting; processing continues shortly.',
  PACKAGE_BAD_RENDITION: NOT_PACKAGED,
  PACKAGE_BAD_PLAYLIST: NOT_PACKAGED,
  PACKAGE_CHUNKS_INCOMPLETE: NOT_PACKAGED,
  PACKAGE_ARTWORK_FAILED: NOT_PACKAGED,
  STORAGE_BAD_KEY: NOT_STORED,
  STORAGE_NOT_FOUND: 'This file is no longer available.',
  STORAGE_BAD_METADATA: NOT_STORED,
  STORAGE_ABORTED: NOT_STORED,
  STORAGE_BACKEND_FAILED: NOT_STORED,
  STORAGE_BUCKET_MISSING: NOT_STORED,
  STORAGE_CHECKSUM_MISMATCH: NOT_STORED,
  STORAGE_URL_INVALID: 'This download link is not valid.',
  STORAGE_URL_EXPIRED: 'This download link has expired.',
  STORAGE_RANGE_INVALID: 'Part of the file could not be fetched. Reload the page and try again.',
  STORAGE_NOT_ARCHIVED: 'This video has no archive copy yet.',
  API_NOT_FOUND: 'This video does not exist (any more).',
  API_VIDEO_UPLOADING: 'This video is still being uploaded. It appears here once the upload has finished.',
  API_BAD_REQUEST: 'The server did not understand the request. Reload the page and try again.',
  API_RATE_LIMITED: 'Too many requests. Please wait a moment.',
  API_RETRY_NOT_FAILED: 'Only videos whose processing failed can be retried.',
  API_RETRY_SOURCE_MISSING: 'The uploaded file is no longer on the server, so it cannot be retried. Please upload the video again.',
  API_ARCHIVE_UNAVAILABLE: 'This server keeps no archive, so the video can only be deleted without an archive copy.',
  API_INTERNAL: 'Something went wrong on our side. Please try again later.',
  AUTH_MISSING_TOKEN: 'Please sign in first.',
  AUTH_INVALID_TOKEN: 'Your sign-in has expired. Please sign in again.',
  AUTH_FORBIDDEN: 'Your account may not do this.',
  AUTH_NOT_CONFIGURED: 'Sign-in is not set up on this server yet. Please tell the administrator.',
  MODERATION_NOT_READY: 'This video has not finished processing yet, so it cannot be approved. You can reject it now.',
  PLAYBACK_NOT_APPROVED: 'This video has not been approved for viewing.', // also said of a rejected one: viewers never learn that
  PLAYBACK_SIGNATURE_MISSING: 'This playback link is incomplete.',
  PLAYBACK_SIGNATURE_INVALID: 'This playback link is not valid.',
  PLAYBACK_SIGNATURE_EXPIRED: 'This playback link has expired.',
  PLAYBACK_PATH_INVALID: 'This playback link is not valid.',
  PLAYBACK_REJECTED: 'A moderator did not approve this video, so it cannot be played.',
  PLAYBACK_REVOKED: 'This playback link is no longer valid.',
  API_ERASURE_BUSY: 'One of your videos is still being processed. Please try deleting your account again in a minute.',
  API_EXPORT_TOO_LARGE:
    'One of your videos is too large to include in the download. Download your data without the videos and contact support.',
  infected: 'Our virus scanner found malware in this file. It has been quarantined and will not be published.',
  failed: 'Processing failed. A moderator can retry it, or you can upload the video again.',
  rejected: 'This video could not be accepted.',
  NETWORK: 'The server could not be reached. Check your connection and try again.',
});

/**
 * A sentence for an error code, followed by the code itself so support can look it up.
 * @param {string} code
 */
export function messageFor(code) {
  const text = MESSAGES[code] ?? 'Something went wrong.';
  return `${text} (${code})`;
}
