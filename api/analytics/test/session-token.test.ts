import { describe, expect, it } from 'vitest';
import { isPipelineError } from '../../../core/errors.ts';
import { AnalyticsSessions } from '../session-token.ts';

const VIDEO = '00000000-0000-4000-8000-000000000001';
const KEY = 'k'.repeat(40);

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isPipelineError(err) ? err.code : 'not a PipelineError';
  }
};

describe('analytics session tokens', () => {
  it('bind a session to its video and issue day, and store only a daily-salted hash', () => {
    let now = Date.UTC(2026, 0, 1, 23, 59);
    const s = new AnalyticsSessions({ key: KEY, ttlSec: 3600, now: () => now });
    const token = s.issue(VIDEO);
    const a = s.verify(VIDEO, token);
    expect(a.day).toBe('2026-01-01');
    expect(a.hash).toHaveLength(16);
    expect(a.id).toBe(a.hash.toString('hex'));
    now += 30 * 60_000; // past midnight: still the day it was issued, still the same session
    expect(s.verify(VIDEO, token)).toEqual(a);
    // The hash is not the nonce, and another nonce on the same day is another session.
    expect(a.hash.toString('base64url')).not.toBe(token.split('.')[1]);
    expect(s.verify(VIDEO, s.issue(VIDEO)).id).not.toBe(a.id);
    // Upper-case ids (as some clients send them) name the same video.
    expect(s.verify(VIDEO.toUpperCase(), token).id).toBe(a.id);
  });

  it('refuses other videos, other keys, malformed and expired tokens', () => {
    let now = Date.UTC(2026, 0, 1, 12);
    const s = new AnalyticsSessions({ key: KEY, ttlSec: 60, now: () => now });
    const token = s.issue(VIDEO);
    expect(codeOf(() => s.verify('00000000-0000-4000-8000-000000000002', token))).toBe('ANALYTICS_SESSION_INVALID');
    expect(codeOf(() => new AnalyticsSessions({ key: 'x'.repeat(40), ttlSec: 60, now: () => now }).verify(VIDEO, token))).toBe(
      'ANALYTICS_SESSION_INVALID',
    );
    for (const bad of ['', 'a.b.c', `${token}.x`, token.replace(/^\d+/, '1'), `99999999999999.${token.split('.').slice(1).join('.')}`])
      expect(codeOf(() => s.verify(VIDEO, bad))).toBe('ANALYTICS_SESSION_INVALID');
    now += 61_000;
    expect(codeOf(() => s.verify(VIDEO, token))).toBe('ANALYTICS_SESSION_EXPIRED');
  });
});
