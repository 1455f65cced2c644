// @ts-check
// The moderator page's single-key shortcuts. They stay out of the way while the person types (text fields, selects);
// a checkbox is not typing, so `x`, `j` and `k` go on working after a click on an item's box.

/**
 * @param {{ keys: Readonly<Record<string, () => unknown>>, submitNotes: () => unknown, leaveNotes: () => unknown }} o
 *   keys: action per KeyboardEvent.key; submitNotes: Ctrl/Cmd+Enter in a textarea; leaveNotes: Escape in a textarea
 */
export function wireShortcuts(o) {
  document.addEventListener('keydown', (e) => {
    const { tagName } = /** @type {Element} */ (e.target);
    if (tagName === 'TEXTAREA') {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        o.submitNotes();
      }
      if (e.key === 'Escape') o.leaveNotes();
      return;
    }
    const typing = tagName === 'SELECT' || (e.target instanceof HTMLInputElement && e.target.type !== 'checkbox');
    if (e.ctrlKey || e.metaKey || e.altKey || typing) return;
    const act = o.keys[e.key];
    if (!act) return;
    e.preventDefault();
    act();
  });
}
