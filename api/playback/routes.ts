import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import type { VideoRepository } from '../../db/videos.ts';
import { contentTypeFor } from '../../storage/keys.ts';
import type { ObjectStorage } from '../../storage/types.ts';
import { isStaff } from '../auth.ts';
import { errorResponses, Playback } from '../routes/video-view.ts';
import { issuePlayback, isPlayable } from './issue.ts';
import { sendObject } from './send-object.ts';
import { signPlaylist, signVtt } from './rewrite.ts';
import type { PlaybackSigner } from './signing.ts';

export interface PlaybackRoutesOptions {
  readonly videos: VideoRepository;
  readonly storage: ObjectStorage;
  readonly signer: PlaybackSigner;
  /** Origins allowed to embed the player (CORS); default none (same origin only). */
  readonly corsOrigins?: readonly string[];
}

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
 * GET /api/playback/:id (signed URLs for approved videos) and GET /hls/:id/* (signed package files).
 */
export async function playbackPlugin(app: FastifyInstance, o: PlaybackRoutesOptions): Promise<void> {
  const origins = o.corsOrigins ?? [];
  await app.register(cors, { origin: origins.length ? [...origins] : false, methods: ['GET', 'HEAD'], maxAge: 600 });
  // Embedding pages on other origins fetch these with CORS; helmet's same-origin CORP would block no-cors loads (posters).
  app.addHook('onSend', async (_req, reply) => { reply.header('cross-origin-resource-policy', 'cross-origin'); });
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/playback/:id', {
    schema: {
      tags: ['playback'], summary: 'Signed playback URL: approved videos for everyone, any ready video for its owner and moderators',
      params: z.object({ id: z.uuid() }), response: { 200: Playback.unwrap(), ...errorResponses },
    },
  }, async (req) => {
    const v = await o.videos.get(req.params.id);
    const p = req.principal;
    const privileged = v !== undefined && (isStaff(p) || (p !== undefined && v.uploader_id === p.id));
    // Owners and moderators may watch the growing EVENT package of a video still transcoding (preview scope).
    const scope = v?.moderation_status === 'approved' && v.status === 'ready' ? 'public' : 'preview';
    if (!v || !isPlayable(v, scope)) throw new PipelineError('API_NOT_FOUND', `No playable video ${req.params.id}.`);
    if (scope === 'preview' && !privileged) throw new PipelineError('PLAYBACK_NOT_APPROVED', 'Not approved.');
    const out = await issuePlayback(o, v, scope);
    if (!out) throw new PipelineError('API_NOT_FOUND', `No playable video ${req.params.id}.`);
    return out;
  });

  r.get('/hls/:id/*', {
    schema: {
      tags: ['playback'], summary: 'HLS playlists (rewritten so every URI carries the signature) and media; needs ?sig=',
      params: z.object({ id: z.string(), '*': z.string() }),
      querystring: z.object({ sig: z.string().max(200).optional() }),
    },
    config: { rateLimit: false },
  }, async (req, reply) => {
    const { id } = req.params;
    const rest = req.params['*'];
    assertPackagePath(id, rest);
    const sig = req.query.sig;
    const { scope } = o.signer.verify(id, sig);
    if (rest.endsWith('.vtt')) return reply.header('content-type', contentTypeFor(rest)).header('cache-control', 'private, no-store')
      .send(signVtt(await readText(o.storage, `hls/${id}/${rest}`), sig!));
    if (!rest.endsWith('.m3u8')) return sendObject(o.storage, reply, `hls/${id}/${rest}`, req.headers.range);
    // Playlists start every playback, so revocation is checked here: a deleted, re-processed or (for viewer
    // signatures) no longer approved video stops playing for new sessions even while old signatures live.
    const v = await o.videos.get(id);
    if (!v || !isPlayable(v, scope)) throw new PipelineError('API_NOT_FOUND', `No playable video ${id}.`);
    if (scope === 'public' && v.moderation_status !== 'approved') throw new PipelineError('PLAYBACK_NOT_APPROVED', 'Not approved.');
    const text = await readText(o.storage, `hls/${id}/${rest}`);
    // The rewritten text embeds a viewer's signature: never share it through a cache.
    return reply.header('content-type', contentTypeFor(rest)).header('cache-control', 'private, no-store')
      .send(signPlaylist(text, sig!));
  });
}

async function readText(storage: ObjectStorage, key: string): Promise<string> {
  if (!(await storage.head(key))) throw new PipelineError('API_NOT_FOUND', 'No such playlist.', { key });
  const chunks: Buffer[] = [];
  for await (const c of await storage.get(key)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}
