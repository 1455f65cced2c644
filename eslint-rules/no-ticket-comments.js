// @ts-check
// A comment says why the code is as it is (the spec clause, the attack it stops). Which tracker entry brought the code
// is history, and history lives in git: a tracker number tells a reader nothing once the entry is closed.
// (This file's own comments avoid the words the rule looks for, so the rule can run on it.)

/** Wording that points at a tracker entry instead of giving a reason. */
const TICKET_PATTERNS = [/\bissues?\s*#?\d+/i, /\bticket\b/i];

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'suggestion',
    docs: { description: 'Forbid comments that name the issue or ticket a change came from.' },
    schema: [],
    messages: {
      ticket: 'Comments give the reason, not the ticket that brought the code ("{{match}}"): state the why; git keeps the history.',
    },
  },
  create(context) {
    return {
      Program() {
        for (const comment of context.sourceCode.getAllComments()) {
          const match = TICKET_PATTERNS.map((p) => p.exec(comment.value)).find((m) => m !== null);
          if (match && comment.loc) context.report({ loc: comment.loc, messageId: 'ticket', data: { match: match[0] } });
        }
      },
    };
  },
};

export default rule;
