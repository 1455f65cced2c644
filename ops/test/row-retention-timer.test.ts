import { describe, expect, it } from 'vitest';
import { startRowRetentionTimer } from '../retention.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('row retention timer', () => {
  it('rolls up raw analytics before each sweep, and sweeps even when the roll-up fails', async () => {
    const order: string[] = [];
    let fail = false;
    const timer = startRowRetentionTimer({
      store: {
        sweepRetention: async () => {
          order.push('sweep');
          return {};
        },
      },
      days: { webhookLog: 30 },
      everyMs: 5,
      logger: quiet,
      before: async () => {
        order.push(fail ? 'expire-failed' : 'expire');
        if (fail) throw new Error('database away');
      },
    });
    try {
      await expect.poll(() => order.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(order.slice(0, 2)).toEqual(['expire', 'sweep']);
      fail = true;
      const afterFailure = (): string[] => order.slice(order.indexOf('expire-failed'));
      await expect.poll(() => order.includes('expire-failed') && afterFailure().includes('sweep'), { timeout: 10_000 }).toBe(true);
    } finally {
      timer.stop();
    }
  });
});
