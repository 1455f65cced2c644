import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS for the routes a browser on another origin of the platform calls: the embed player (playback URL, signed HLS)
 * and a site's own uploader or video list (upload tokens, videos, moderation). Only the CORS_ORIGINS allow-list is
 * answered; credentials are never allowed: these routes take a bearer token the page sends itself, never a cookie, so
 * a page cannot ride on a session the browser holds. The tus endpoint answers CORS itself (any origin: every upload
 * request needs an Upload-Token or an unguessable upload URL). Registered inside the scope of those routes only:
 * health, metrics and the pages stay same-origin.
 */
export async function registerApiCors(scope: FastifyInstance, origins: readonly string[]): Promise<void> {
  await scope.register(cors, {
    origin: origins.length ? [...origins] : false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'range'],
    exposedHeaders: ['x-request-id', 'retry-after', 'content-range', 'accept-ranges'],
    credentials: false,
    maxAge: 600,
  });
}
