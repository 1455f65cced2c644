import { describe, expect, it } from 'vitest';
import { ERROR_DEFINITIONS } from '../../core/errors.ts';

/**
 * Prefixes of codes that can reach a page: answers of the API the pages call, and a video's error_code, which holds
 * whatever ended its job (storage and packaging failures included) and is shown on the upload and moderation pages.
 */
const SHOWN_ON_PAGES = /^(INGEST|TRANSCODE|PACKAGE|STORAGE|API|AUTH|MODERATION|PLAYBACK|ANALYTICS)_/;
/** Codes only operators (boot, CLIs) or machine peers (Cloudflare Stream, webhook receivers) ever see. */
const OPERATOR_ONLY = /^(OPS|DB|STREAM|WEBHOOK)_/;
/** api/errors.ts answers failures that carry no code of ours with this one. */
const API_FALLBACK_CODES = ['API_INTERNAL'];
/** Keys of the player's own: video statuses and a fetch that never reached the server. */
const PLAYER_KEYS = ['infected', 'failed', 'rejected', 'NETWORK'];

/** The player's message table, loaded as the browser loads it (plain ESM, outside the type check). */
async function playerMessages(): Promise<Readonly<Record<string, unknown>>> {
  const mod: unknown = await import(new URL('../../player/lib/messages.js', import.meta.url).href);
  const table: unknown = typeof mod === 'object' && mod !== null && 'MESSAGES' in mod ? mod.MESSAGES : undefined;
  if (typeof table !== 'object' || table === null) throw new Error('player/lib/messages.js exports no MESSAGES table');
  return table as Readonly<Record<string, unknown>>;
}

describe('player error messages follow core/errors.ts', () => {
  const codes = Object.keys(ERROR_DEFINITIONS);

  it('sorts every code into shown-on-pages or operator-only, so a new prefix needs a decision', () => {
    expect(codes.filter((c) => !SHOWN_ON_PAGES.test(c) && !OPERATOR_ONLY.test(c))).toEqual([]);
  });

  it('has a message for every code that can reach a page', async () => {
    const messages = await playerMessages();
    const missing = [...codes.filter((c) => SHOWN_ON_PAGES.test(c)), ...API_FALLBACK_CODES].filter(
      (c) => typeof messages[c] !== 'string' || messages[c] === '',
    );
    expect(missing).toEqual([]);
  });

  it('has no entry for a code that does not exist (renamed or removed codes go from the player too)', async () => {
    const known = new Set([...codes, ...API_FALLBACK_CODES, ...PLAYER_KEYS]);
    expect(Object.keys(await playerMessages()).filter((k) => !known.has(k))).toEqual([]);
  });
});
