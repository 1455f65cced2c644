// @ts-check
// Selecting several queue items for one decision: a checkbox per item, shift-click (or Shift+x) selects the range
// from the last item toggled, `x` toggles the current item. The set is pruned to what the queue still shows.

export class BulkSelection {
  /** @type {Set<string>} */
  ids = new Set();
  /** The item toggled last: the other end of a shift-click range. @type {string | null} */
  #anchor = null;
  #onChange;

  /** @param {(ids: ReadonlySet<string>) => void} onChange called after every change */
  constructor(onChange) {
    this.#onChange = onChange;
  }

  /**
   * Toggles `id`; with `range`, sets every item between the anchor and `id` (in queue order) to `id`'s new state.
   * @param {string} id
   * @param {readonly string[]} order ids as the queue shows them
   * @param {boolean} [range]
   */
  toggle(id, order, range = false) {
    const on = !this.ids.has(id);
    const from = this.#anchor === null ? -1 : order.indexOf(this.#anchor);
    const to = order.indexOf(id);
    const span = range && from >= 0 && to >= 0 ? order.slice(Math.min(from, to), Math.max(from, to) + 1) : [id];
    for (const x of span) {
      if (on) this.ids.add(x);
      else this.ids.delete(x);
    }
    this.#anchor = id;
    this.#onChange(this.ids);
  }

  /** @param {readonly string[]} ids selects exactly these (the "all shown" box), or none */
  set(ids) {
    this.ids = new Set(ids);
    this.#anchor = null;
    this.#onChange(this.ids);
  }

  /** Drops ids the queue no longer shows (decided, or filtered out). @param {ReadonlySet<string> | Map<string, unknown>} shown */
  prune(shown) {
    const before = this.ids.size;
    for (const id of this.ids) if (!shown.has(id)) this.ids.delete(id);
    if (this.#anchor !== null && !shown.has(this.#anchor)) this.#anchor = null;
    if (this.ids.size !== before) this.#onChange(this.ids);
  }
}

/**
 * The checkbox of one queue item; clicking it selects (shift: a range) without opening the item's preview.
 * @param {string} id
 * @param {string} title
 * @param {(id: string, range: boolean) => void} onToggle
 */
export function pickBox(id, title, onToggle) {
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.className = 'pick';
  box.dataset.id = id;
  box.setAttribute('aria-label', `Select “${title}”`);
  box.addEventListener('click', (e) => {
    e.stopPropagation();
    // The selection decides the state (a range may set boxes the click did not touch); render() shows it.
    e.preventDefault();
    onToggle(id, e.shiftKey);
  });
  return box;
}

/**
 * Shows the selection on the page: each item's box, the bar with the count and its buttons, the "all shown" box.
 * @param {{ list: HTMLElement, bar: HTMLElement, count: HTMLElement, all: HTMLInputElement }} el
 * @param {ReadonlySet<string>} ids
 * @param {number} shown how many items the queue shows
 */
export function showSelection(el, ids, shown) {
  for (const box of el.list.querySelectorAll('input.pick')) {
    if (box instanceof HTMLInputElement) box.checked = ids.has(box.dataset.id ?? '');
  }
  el.bar.hidden = ids.size === 0;
  el.count.textContent = `${ids.size} selected`;
  el.all.checked = shown > 0 && ids.size === shown;
  el.all.indeterminate = ids.size > 0 && ids.size < shown;
  document.body.dataset.picked = String(ids.size);
}
