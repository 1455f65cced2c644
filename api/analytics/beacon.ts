import { z } from 'zod';

/**
 * What the player sends (player/lib/analytics.js): one beacon = the session token and a batch of events, each with a
 * per-session sequence number (retries and duplicates count once) and its time in ms since the session started.
 * Positions and durations are media seconds. Every bound is generous for real playback and tight enough that a
 * hostile client cannot store much: at most MAX_EVENTS per beacon, BODY_LIMIT bytes, short strings.
 */
export const MAX_EVENTS = 50;
export const BODY_LIMIT = 16 * 1024;

/** The longest video MAX_DURATION_SEC allows is far below this; positions beyond are nonsense. */
const pos = z.number().min(0).max(86_400);
const ms = z.number().int().min(0).max(600_000);
const bitrate = z.number().int().min(0).max(1_000_000_000);
const height = z.number().int().min(0).max(8640);
const base = {
  seq: z.number().int().min(0).max(1_000_000),
  /** ms since the session started (client clock); a week at most. */
  at: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000),
};

export const BeaconEvent = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('start'), startupMs: ms.describe('load → first frame'), duration: pos }),
  z
    .object({ ...base, type: z.literal('heartbeat'), from: pos, to: pos, bitrate, height })
    .describe('One span of continuous playback [from, to] at one rung since the previous heartbeat'),
  z.object({ ...base, type: z.literal('seek'), from: pos, to: pos }),
  z.object({ ...base, type: z.literal('quality'), level: z.number().int().min(0).max(64), bitrate, height }),
  z.object({ ...base, type: z.literal('stall'), durationMs: ms, pos }).describe('Playback waited for data after it had started'),
  z.object({
    ...base,
    type: z.literal('error'),
    code: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
      .describe('hls.js error details or one of our codes'),
    fatal: z.boolean(),
  }),
  z.object({ ...base, type: z.literal('end'), pos }),
]);
export type BeaconEvent = z.infer<typeof BeaconEvent>;
export type EventKind = BeaconEvent['type'];

export const BeaconBody = z.object({
  videoId: z.uuid(),
  session: z.string().min(1).max(100).describe('analyticsSession of the playback answer'),
  // The cap of MAX_EVENTS is checked in the handler, so an oversize batch gets its own code rather than a schema error.
  events: z.array(BeaconEvent).min(1),
});
export type BeaconBody = z.infer<typeof BeaconBody>;

/** The event-specific fields, as stored in the raw row's `data`. */
export function dataOf(e: BeaconEvent): Record<string, unknown> {
  // seq, at and type have columns of their own.
  return Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'seq' && k !== 'at' && k !== 'type'));
}
