import { z } from 'zod';

/**
 * Personal-data variables (erasure, retention of logs and raw events). Kept beside config.ts, which merges this
 * schema into its own and is still the only module that reads process.env.
 */
export const PrivacyEnvShape = {
  /**
   * Key of the pseudonyms an erasure leaves in the moderation audit (core/pseudonym.ts). Unset: each erasure draws a
   * random key and forgets it, so the audit rows of an erased user link to no one, ever.
   */
  AUDIT_PSEUDONYM_KEY: z.string().min(32).optional(),
  /** Webhook delivery log and relayed outbox events older than this are deleted; 0 = kept. */
  RETENTION_WEBHOOK_LOG_DAYS: z.coerce.number().int().min(0).default(30),
  /** Raw analytics events older than this are deleted (the aggregates stay); 0 = kept. */
  RETENTION_ANALYTICS_EVENTS_DAYS: z.coerce.number().int().min(0).default(90),
  /** How long an erasure waits for a running transcode of the user's videos to stop before answering API_ERASURE_BUSY. */
  ERASURE_JOB_STOP_TIMEOUT_SEC: z.coerce.number().int().min(1).max(600).default(60),
};

type PrivacyEnv = z.output<z.ZodObject<typeof PrivacyEnvShape>>;

export interface PrivacyConfig {
  readonly auditPseudonymKey: string | undefined;
  /** Days per retention setting of db/personal-data.ts (0 = kept). */
  readonly retentionDays: { readonly webhookLog: number; readonly analyticsEvents: number };
  readonly erasureJobStopTimeoutMs: number;
}

export function privacyConfigFrom(e: PrivacyEnv): PrivacyConfig {
  return {
    auditPseudonymKey: e.AUDIT_PSEUDONYM_KEY,
    retentionDays: { webhookLog: e.RETENTION_WEBHOOK_LOG_DAYS, analyticsEvents: e.RETENTION_ANALYTICS_EVENTS_DAYS },
    erasureJobStopTimeoutMs: e.ERASURE_JOB_STOP_TIMEOUT_SEC * 1000,
  };
}
