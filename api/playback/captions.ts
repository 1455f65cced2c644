import { PipelineError } from '../../core/errors.ts';
import type { ModerationStatus } from '../../core/types.ts';
import type { CaptionRow } from '../../db/captions.ts';
import { addSubtitleGroup, renderSubtitlePlaylist, subtitleSegment } from '../../packager/master.ts';
import type { PlaybackAudience } from './signing.ts';

/** What the HLS route needs of the caption store. */
export interface CaptionSource {
  withStatus(videoId: string, statuses: readonly ModerationStatus[]): Promise<CaptionRow[]>;
  get(videoId: string, lang: string): Promise<(CaptionRow & { vtt: string }) | undefined>;
}

/**
 * Which captions a signature may see. Viewers (public links) only approved ones: a caption added to an approved video
 * waits for its own approval. Owners preview theirs until a moderator rejects them; moderators see all, rejected
 * included (they may reverse a decision), as with videos.
 */
const VISIBLE: Readonly<Record<PlaybackAudience, readonly ModerationStatus[]>> = {
  public: ['approved'],
  owner: ['approved', 'pending'],
  moderator: ['approved', 'pending', 'rejected'],
};

/** `subs/<lang>.m3u8` and `subs/<lang>.vtt`: the only caption paths; the lang is the BCP 47 shape the upload accepts. */
const SUBS_PATH = /^subs\/([a-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3})\.(m3u8|vtt)$/;

export function isSubtitlePath(rest: string): boolean {
  return rest.startsWith('subs/');
}

/** The stored master with a SUBTITLES group of the captions this audience may see (none: unchanged). */
export async function masterWithCaptions(
  captions: CaptionSource,
  videoId: string,
  audience: PlaybackAudience,
  master: string,
): Promise<string> {
  const rows = await captions.withStatus(videoId, VISIBLE[audience]);
  return addSubtitleGroup(
    master,
    rows.map((c) => ({ uri: `subs/${c.lang}.m3u8`, language: c.lang, name: c.label })),
  );
}

/**
 * The text behind a `subs/…` path for this audience: a one-segment subtitle playlist, or the stored WebVTT itself.
 * A caption the audience may not see is answered like a missing one, so a viewer cannot tell a pending caption exists.
 */
export async function subtitleResponse(
  captions: CaptionSource,
  videoId: string,
  rest: string,
  audience: PlaybackAudience,
  durationSec: number | null,
): Promise<{ type: string; body: string }> {
  const m = SUBS_PATH.exec(rest);
  if (!m) throw new PipelineError('PLAYBACK_PATH_INVALID', 'Refusing subtitle path.', { id: videoId, path: rest.slice(0, 200) });
  const [, lang, ext] = m as unknown as [string, string, string];
  const c = await captions.get(videoId, lang);
  if (!c || !VISIBLE[audience].includes(c.status)) throw new PipelineError('API_NOT_FOUND', 'No such captions.', { id: videoId, lang });
  if (ext === 'vtt') return { type: 'text/vtt; charset=utf-8', body: subtitleSegment(c.vtt) };
  return { type: 'application/vnd.apple.mpegurl', body: renderSubtitlePlaylist(`${lang}.vtt`, durationSec ?? 1) };
}
