import { describe, expect, it } from 'vitest';
import { timestampedHmac, timestampedHmacMatches } from '../timestamped-hmac.ts';

// From `printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec-example -hex`: an oracle outside our code.
const MAC = '6f811a6a92fc8502c04a3ace46693eee8c5a1718cb743183ee0aeb5dddc963bf';

describe('timestamped HMAC (webhook signatures)', () => {
  it('signs `<time>.<body>` with HMAC-SHA256, hex', () => {
    expect(timestampedHmac('whsec-example', 1_700_000_000, '{"a":1}')).toBe(MAC);
  });

  it('matches only the same secret, time and body; hex case does not matter, length does', () => {
    expect(timestampedHmacMatches('whsec-example', 1_700_000_000, '{"a":1}', MAC)).toBe(true);
    expect(timestampedHmacMatches('whsec-example', 1_700_000_000, '{"a":1}', MAC.toUpperCase())).toBe(true);
    expect(timestampedHmacMatches('whsec-other', 1_700_000_000, '{"a":1}', MAC)).toBe(false);
    expect(timestampedHmacMatches('whsec-example', 1_700_000_001, '{"a":1}', MAC)).toBe(false);
    expect(timestampedHmacMatches('whsec-example', 1_700_000_000, '{"a":2}', MAC)).toBe(false);
    expect(timestampedHmacMatches('whsec-example', 1_700_000_000, '{"a":1}', MAC.slice(0, 62))).toBe(false);
  });
});
