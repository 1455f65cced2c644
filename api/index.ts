/**
 * What other stages and the composition root use from the API: auth guards (e.g. requireRole('uploader') on the
 * upload-token route), playback signing, webhook signature checks for receivers. Route modules stay internal.
 */
export { authenticate, createTokenVerifier, isStaff, issueAccessToken, principalOf, requireRole } from './auth.ts';
export type { Principal, TokenVerifier, TokenVerifierOptions } from './auth.ts';
export { PlaybackSigner, signedHlsUrl } from './playback/signing.ts';
export type { PlaybackAudience, PlaybackGrant, PlaybackScope } from './playback/signing.ts';
export { signWebhook, verifyWebhook, SIGNATURE_HEADER } from './webhooks/signature.ts';
export type { ReadinessCheck } from './routes/health.ts';
export type { LocalVideoFiles, RemovedLocalFiles, VideoArchive } from './routes/videos.ts';
export { buildApi } from './server.ts';
export type { ApiOptions } from './server.ts';
