import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import type { VideoRepository } from '../../db/videos.ts';
import { contentTypeFor } from '../../storage/keys.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { COMMON_ERRORS, errorResponses, security } from '../openapi.ts';
import { Playback } from '../routes/video-view.ts';
import { MASTER_NAME } from '../../packager/package.ts';
import { accessDenial } from './access.ts';
import { isSubtitlePath, masterWithCaptions, subtitleResponse, type CaptionSource } from './captions.ts';
import type { AccessStateCache } from './access-cache.ts';
import { requirePlayback } from './issue.ts';
import { sendObject } from './send-object.ts';
import { signPlaylist, signVtt } from './rewrite.ts';
import type { PlaybackSigner, VerifiedSignature } from './signing.ts';

export interface PlaybackRoutesOptions {
  readonly videos: VideoRepository;
  readonly storage: ObjectStorage;
  readonly signer: PlaybackSigner;
  /** Cached per-video access state that every /hls request is checked against. */
  readonly access: AccessStateCache;
  /** Issues analytics session tokens with public playback answers; default none. */
  readonly analyticsSessions?: { issue(videoId: string): string };
  /** Origins allowed to embed the player (CORS); default none (same origin only). */
  readonly corsOrigins?: readonly string[];
  /** Caption tracks, added to masters and served under subs/; default none. */
  readonly captions?: CaptionSource;
  /** Whether viewers (public links) may fetch progressive downloads (DOWNLOADS_FOR_VIEWERS); default false. */
  readonly viewerDownloads?: boolean;
}

/** A cached progressive MP4 of one rung (api/routes/downloads.ts builds it). */
export const DOWNLOAD_PATH = /^downloads\/([A-Za-z0-9_-]{1,64})\.mp4$/;

/** File types a package may contain; anything else (sidecar metadata, sources) is never served. */
const SERVABLE = /\.(m3u8|m4s|mp4|m4a|aac|ts|vtt|jpg|jpeg|webp|png)$/;
/** Plain relative names only: no dot-segments, no empty segments, no backslashes or percent-escapes left over. */
const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function assertPackagePath(id: string, rest: string): void {
  if (!UUID.test(id) || rest.length > 512 || !SAFE_PATH.test(rest) || !SERVABLE.test(rest)) {
    throw new PipelineError('PLAYBACK_PATH_INVALID', 'Refusing HLS path.', { id, path: rest.slice(0, 200) });
  }
}

/**
 * Player-facing routes in their own plugin scope, so CORS applies to them and nothing else:
 * GET /api/playback/:id (signed URLs) and GET /hls/:id/* (signed package files, each request re-checked against the
 * video's cached access state).
 */
export async function playbackPlugin(app: FastifyInstance, o: PlaybackRoutesOptions): Promise<void> {
  // CORS for the listed origins comes from the enclosing scope (api/cors.ts).
  // Embedding pages on other origins fetch these with CORS; helmet's same-origin CORP would block no-cors loads (posters).
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cross-origin-resource-policy', 'cross-origin');
  });
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/playback/:id',
    {
      schema: {
        tags: ['playback'],
        summary: 'Signed playback URL: approved videos for everyone; short-lived previews for owners (until rejected) and moderators',
        params: z.object({ id: z.uuid() }),
        security: security('optional-bearer'),
        response: {
          200: Playback.unwrap(),
          ...errorResponses(...COMMON_ERRORS, 'API_BAD_REQUEST', 'API_NOT_FOUND', 'PLAYBACK_NOT_APPROVED', 'PLAYBACK_REJECTED'),
        },
      },
    },
    async (req) => requirePlayback(o, await o.videos.get(req.params.id), req.principal, req.params.id),
  );

  r.get(
    '/hls/:id/*',
    {
      schema: {
        tags: ['playback'],
        summary: 'HLS playlists (rewritten so every URI carries the signature) and media; needs ?sig=',
        params: z.object({ id: z.string(), '*': z.string() }),
        querystring: z.object({ sig: z.string().max(200).optional() }),
        security: security('signature'),
        // Not rate limited (a player fetches many segments), hence no API_RATE_LIMITED.
        response: errorResponses(
          'AUTH_INVALID_TOKEN',
          'API_BAD_REQUEST',
          'API_NOT_FOUND',
          'PLAYBACK_PATH_INVALID',
          'PLAYBACK_SIGNATURE_MISSING',
          'PLAYBACK_SIGNATURE_INVALID',
          'PLAYBACK_SIGNATURE_EXPIRED',
          'PLAYBACK_NOT_APPROVED',
          'PLAYBACK_REJECTED',
          'PLAYBACK_REVOKED',
          'PLAYBACK_DOWNLOAD_DISABLED',
        ),
      },
      config: { rateLimit: false },
    },
    async (req, reply) => {
      const { id } = req.params;
      const rest = req.params['*'];
      assertPackagePath(id, rest);
      const sig = req.query.sig;
      const verified = o.signer.verify(id, sig);
      // Every file, not just playlists: a player that already holds a playlist fetches segments, posters and
      // storyboards with the signature, and those must stop too when access is revoked.
      await assertAccess(o, id, verified);
      if (isSubtitlePath(rest)) {
        if (!o.captions) throw new PipelineError('API_NOT_FOUND', 'No captions here.', { id });
        const duration = rest.endsWith('.m3u8') ? ((await o.videos.get(id))?.duration_sec ?? null) : null;
        const sub = await subtitleResponse(o.captions, id, rest, verified.audience, duration);
        const body = rest.endsWith('.m3u8') ? signPlaylist(sub.body, sig!) : sub.body;
        return reply.header('content-type', sub.type).header('cache-control', 'private, no-store').send(body);
      }
      if (rest.startsWith('downloads/')) return sendDownload(o, reply, id, rest, verified, req.headers.range);
      if (rest.endsWith('.vtt'))
        return reply
          .header('content-type', contentTypeFor(rest))
          .header('cache-control', 'private, no-store')
          .send(signVtt(await readText(o.storage, `hls/${id}/${rest}`), sig!));
      if (!rest.endsWith('.m3u8')) {
        // A shared cache (CDN, proxy) must not keep serving a file after its URL was revoked; the viewer's own browser
        // may keep what it already has, at most until the signature expires. A new epoch means a new URL, hence immutable.
        const cacheControl = `private, max-age=${o.signer.secondsLeft(verified)}, immutable`;
        return sendObject(o.storage, reply, `hls/${id}/${rest}`, req.headers.range, cacheControl);
      }
      let text = await readText(o.storage, `hls/${id}/${rest}`);
      if (rest === MASTER_NAME && o.captions) text = await masterWithCaptions(o.captions, id, verified.audience, text);
      // The rewritten text embeds a viewer's signature: never share it through a cache.
      return reply.header('content-type', contentTypeFor(rest)).header('cache-control', 'private, no-store').send(signPlaylist(text, sig!));
    },
  );
}

/**
 * The cached state may be up to the cache TTL old when it grants; a refusal is re-read from Postgres first (at most a
 * few times a second per video), so a change that granted access, such as an approval, is not held back by the cache.
 */
async function assertAccess(o: PlaybackRoutesOptions, id: string, sig: VerifiedSignature): Promise<void> {
  const tagOf = (principalId: string): string => o.signer.principalTag(principalId);
  let denial = accessDenial(await o.access.get(id, { minEpoch: sig.epoch }), sig, tagOf);
  if (denial) denial = accessDenial(await o.access.get(id, { fresh: true }), sig, tagOf);
  if (denial) throw new PipelineError(denial, `Playback of ${id} refused (${sig.audience} link).`, { id, audience: sig.audience });
}

/**
 * A cached download, as an attachment with Range support. Viewers get one only where the deployment allows it; the
 * owner's and moderators' links were checked like any preview.
 */
async function sendDownload(
  o: PlaybackRoutesOptions,
  reply: FastifyReply,
  id: string,
  rest: string,
  sig: VerifiedSignature,
  range: string | undefined,
): Promise<FastifyReply> {
  const m = DOWNLOAD_PATH.exec(rest);
  if (!m) throw new PipelineError('PLAYBACK_PATH_INVALID', 'Refusing download path.', { id, path: rest.slice(0, 200) });
  if (sig.audience === 'public' && !o.viewerDownloads) {
    throw new PipelineError('PLAYBACK_DOWNLOAD_DISABLED', 'Viewer downloads are off.', { id });
  }
  reply.header('content-disposition', `attachment; filename="${id}-${m[1]!}.mp4"`);
  return sendObject(o.storage, reply, `hls/${id}/${rest}`, range, `private, max-age=${o.signer.secondsLeft(sig)}`);
}

async function readText(storage: ObjectStorage, key: string): Promise<string> {
  if (!(await storage.head(key))) throw new PipelineError('API_NOT_FOUND', 'No such playlist.', { key });
  const chunks: Buffer[] = [];
  for await (const c of await storage.get(key)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}
