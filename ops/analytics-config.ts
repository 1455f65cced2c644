import { z } from 'zod';

/** Viewing-analytics variables. Kept beside config.ts, which merges this schema into its own and alone reads process.env. */
export const AnalyticsEnvShape = {
  /** Beacon intake, the analytics API and session tokens in playback answers. */
  ANALYTICS_ENABLED: z.enum(['true', 'false']).default('true'),
  /** Seconds a session must watch for a view (or 90 % of a shorter video). */
  ANALYTICS_VIEW_SECONDS: z.coerce.number().min(0.1).max(3600).default(10),
  /** Days raw beacon events are kept before `npm run retention` rolls them up for good and deletes them. */
  ANALYTICS_RAW_RETENTION_DAYS: z.coerce.number().int().min(2).max(90).default(7),
  /** How long after a playback answer its analytics session is accepted (at most a day: see README). */
  ANALYTICS_SESSION_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(86_400)
    .default(6 * 3600),
  /** Beacons one session may send per RATE_LIMIT_WINDOW_MS (the player sends one about every 10 s). */
  ANALYTICS_SESSION_RATE_MAX: z.coerce.number().int().min(1).default(60),
  /** Beacons per client IP per RATE_LIMIT_WINDOW_MS (a school behind one NAT sends many); instead of RATE_LIMIT_MAX. */
  ANALYTICS_IP_RATE_MAX: z.coerce.number().int().min(1).default(3000),
};

type AnalyticsEnv = z.infer<z.ZodObject<typeof AnalyticsEnvShape>> & { RATE_LIMIT_WINDOW_MS: number };

export interface AnalyticsConfig {
  readonly enabled: boolean;
  readonly viewSec: number;
  readonly rawRetentionDays: number;
  readonly sessionTtlSec: number;
  readonly sessionRate: { readonly max: number; readonly windowMs: number };
  readonly ipRate: { readonly max: number; readonly windowMs: number };
}

export function analyticsConfigFrom(e: AnalyticsEnv): AnalyticsConfig {
  return {
    enabled: e.ANALYTICS_ENABLED === 'true',
    viewSec: e.ANALYTICS_VIEW_SECONDS,
    rawRetentionDays: e.ANALYTICS_RAW_RETENTION_DAYS,
    sessionTtlSec: e.ANALYTICS_SESSION_TTL_SEC,
    sessionRate: { max: e.ANALYTICS_SESSION_RATE_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
    ipRate: { max: e.ANALYTICS_IP_RATE_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
  };
}
