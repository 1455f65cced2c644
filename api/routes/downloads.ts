import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError, type ErrorCode } from '../../core/errors.ts';
import type { VideoRepository, VideoRow } from '../../db/videos.ts';
import type { DownloadBuilder } from '../../pipeline/download.ts';
import { isStaff, type Principal } from '../auth.ts';
import { COMMON_ERRORS, errorResponses, security } from '../openapi.ts';
import { decideGrant, factsOf } from '../playback/access.ts';
import { signedHlsUrl, type PlaybackGrant, type PlaybackSigner } from '../playback/signing.ts';

export interface DownloadRoutesOptions {
  readonly videos: VideoRepository;
  readonly signer: PlaybackSigner;
  readonly builder: DownloadBuilder;
  /** Viewers of approved videos may download too (DOWNLOADS_FOR_VIEWERS); default false: owners and staff only. */
  readonly viewerDownloads?: boolean;
}

const Download = z.object({
  url: z.string().describe('Signed URL of the MP4 (relative to the API origin); answers Range requests'),
  rendition: z.string(),
  sizeBytes: z.number(),
  expiresAt: z.iso.datetime(),
});

/**
 * The grant a download link is signed with. The owner gets an owner link even for an approved video (a public link
 * would depend on the viewer-download switch); staff a moderator link; anyone else a public one, where allowed.
 */
export function downloadGrant(v: VideoRow, p: Principal | undefined, viewers: boolean): PlaybackGrant | ErrorCode {
  const grant = decideGrant(factsOf(v), p);
  if (typeof grant === 'string') return grant;
  if (p && isStaff(p)) return { audience: 'moderator', principalId: p.id };
  if (p && v.uploader_id === p.id)
    return v.moderation_status === 'rejected' ? 'PLAYBACK_REJECTED' : { audience: 'owner', principalId: p.id };
  return viewers ? grant : 'PLAYBACK_DOWNLOAD_DISABLED';
}

export function registerDownloadRoutes(app: FastifyInstance, o: DownloadRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/videos/:id/download',
    {
      schema: {
        tags: ['playback'],
        summary: 'Signed URL of a progressive MP4 of one rung (owner and moderators; viewers of approved videos where enabled)',
        description:
          'Made once by remuxing the published segments (no re-encode, index at the front) and cached next to the package; ' +
          'the first call for a rung waits for the remux.',
        params: z.object({ id: z.uuid() }),
        body: z.object({
          rendition: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/)
            .describe('Rendition name, as in the video detail'),
        }),
        security: security('optional-bearer'),
        response: {
          200: Download,
          ...errorResponses(
            ...COMMON_ERRORS,
            'API_BAD_REQUEST',
            'API_NOT_FOUND',
            'PLAYBACK_NOT_APPROVED',
            'PLAYBACK_REJECTED',
            'PLAYBACK_DOWNLOAD_DISABLED',
            'PACKAGE_DOWNLOAD_FAILED',
          ),
        },
      },
    },
    async (req) => {
      const { id } = req.params;
      const v = await o.videos.get(id);
      const grant = v ? downloadGrant(v, req.principal, o.viewerDownloads ?? false) : 'API_NOT_FOUND';
      if (typeof grant === 'string') throw new PipelineError(grant, `No download of ${id} for this caller.`, { id });
      // Only a finished package: a preview still being published has no complete rung to remux.
      if (!v || v.status !== 'ready' || !v.hls_prefix) throw new PipelineError('API_NOT_FOUND', `Video ${id} is not ready.`, { id });
      const renditions = await o.videos.renditions(v.id);
      const rung = renditions.find((x) => x.kind === 'video' && x.name === req.body.rendition);
      if (!rung) throw new PipelineError('API_NOT_FOUND', `No video rendition ${req.body.rendition}.`, { id });
      const audio = renditions.find((x) => x.kind === 'audio');
      const rel = (key: string): string => key.slice(v.hls_prefix!.length + 1);
      const name = `downloads/${rung.name}.mp4`;
      const sizeBytes = await o.builder.ensure({
        videoId: v.id,
        prefix: v.hls_prefix,
        videoPlaylist: rel(rung.playlist_key),
        audioPlaylist: audio ? rel(audio.playlist_key) : undefined,
        key: `${v.hls_prefix}/${name}`,
      });
      const { sig, expiresAt } = o.signer.sign(v.id, grant, v.access_epoch);
      return { url: signedHlsUrl(v.id, name, sig), rendition: rung.name, sizeBytes, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },
  );
}
