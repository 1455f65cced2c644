// @ts-check
// "Undo" after a decision, for as long as the API allows it (the decision's undoUntil). The decision itself is already
// recorded and in force; undo is a separate API call that returns the videos to the queue and revokes their links.

/** @typedef {{ ids: string[], text: string, until: number }} UndoOffer */

/**
 * @param {{ bar: HTMLElement, text: HTMLElement, button: HTMLButtonElement }} el
 * @param {(ids: string[]) => Promise<void>} undo
 */
export function createUndoBar(el, undo) {
  /** @type {UndoOffer | null} */
  let offer = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let ticker;

  const hide = () => {
    clearInterval(ticker);
    offer = null;
    el.bar.hidden = true;
    delete document.body.dataset.undo;
  };
  const tick = () => {
    const left = offer ? Math.ceil((offer.until - Date.now()) / 1000) : 0;
    if (!offer || left <= 0) return hide();
    el.button.textContent = `Undo (${left} s)`;
  };
  el.button.addEventListener('click', () => run());

  async function run() {
    if (!offer) return;
    const { ids } = offer;
    hide();
    await undo(ids);
  }

  return {
    /**
     * Offers undo for `ids` until `undoUntil` (the API's time); the page's clock may differ a little from the API's, so
     * the offer ends a second early rather than late (the API refuses a late undo with MODERATION_UNDO_EXPIRED anyway).
     * @param {string[]} ids
     * @param {string} text
     * @param {string} undoUntil ISO 8601
     */
    offer(ids, text, undoUntil) {
      if (!ids.length) return hide();
      clearInterval(ticker);
      offer = { ids, text, until: Date.parse(undoUntil) - 1000 };
      el.text.textContent = text;
      el.bar.hidden = false;
      document.body.dataset.undo = ids.join(' ');
      tick();
      ticker = setInterval(tick, 250);
    },
    /** Undo now (the `u` key); false when there is nothing to undo. */
    run() {
      if (!offer) return false;
      run();
      return true;
    },
  };
}
