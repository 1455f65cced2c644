import { RuleTester } from 'eslint';
import { describe, it } from 'vitest';
import rule from '../no-ticket-comments.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const ticket = [{ messageId: 'ticket' }];

new RuleTester().run('no-ticket-comments', rule, {
  valid: [
    '// Segments are 4 s long so a seek lands within one GOP (RFC 8216 §4.3.3.1).',
    '/* The issue with CMAF here is the missing tfdt; see ISO/IEC 14496-12 §8.8.12. */',
    '// tickets and issuers are not tracker references',
    "const url = 'https://example.test/issue 5'; // strings are not comments",
  ],
  invalid: [
    { code: '// so issue 6 stays one file\nconst a = 1;', errors: ticket },
    { code: '/** Issues #12 and 13 asked for it. */\nconst a = 1;', errors: ticket },
    { code: '// issue#7: keep the old path', errors: ticket },
    { code: '/* added for the ticket */', errors: ticket },
    { code: '// TICKET: remove later', errors: ticket },
    { code: '// one\n// issue 3 two', errors: [{ messageId: 'ticket', line: 2 }] },
  ],
});
