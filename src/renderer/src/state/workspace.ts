// One photo view's focus and selection over a Collection: the focused index (the grid's active
// cell, the loupe's photo), the selected file ids, and the anchor Shift-click ranges start from.
import type { Collection } from './collection.js';
import { Store } from './store.js';

export interface SelectionState {
  focus: number;
  anchor: number;
  selected: ReadonlySet<number>;
}

export class Workspace {
  readonly selection = new Store<SelectionState>({ focus: 0, anchor: 0, selected: new Set() });

  constructor(public collection: Collection) {}

  focusedId(): number | undefined {
    return this.collection.ids[this.selection.get().focus];
  }

  /** Grid: the selection, else the focused photo. Loupe and compare: the photo shown. */
  targets(layout: 'grid' | 'loupe' | 'compare'): number[] {
    const { selected } = this.selection.get();
    const focused = this.focusedId();
    if (layout === 'grid' && selected.size > 0) return [...selected];
    return focused === undefined ? [] : [focused];
  }

  /** Moves focus; `extend` grows the selection from the anchor (Shift+arrows), else selects just the focused photo. */
  focus(index: number, opts: { extend?: boolean; keepSelection?: boolean } = {}): void {
    const size = this.collection.size;
    if (size === 0) return;
    const focus = Math.max(0, Math.min(size - 1, index));
    this.selection.set((prev) => {
      if (opts.extend) return { focus, anchor: prev.anchor, selected: this.range(prev.anchor, focus) };
      if (opts.keepSelection) return { ...prev, focus };
      const id = this.collection.ids[focus];
      return { focus, anchor: focus, selected: new Set(id === undefined ? [] : [id]) };
    });
  }

  /** Ctrl-click / Space: add or drop one photo, leaving the rest selected. */
  toggle(index: number): void {
    const id = this.collection.ids[index];
    if (id === undefined) return;
    this.selection.set((prev) => {
      const selected = new Set(prev.selected);
      if (selected.has(id)) selected.delete(id);
      else selected.add(id);
      return { focus: index, anchor: index, selected };
    });
  }

  selectAll(): void {
    this.selection.set((prev) => ({ ...prev, selected: new Set(this.collection.ids) }));
  }

  private range(a: number, b: number): Set<number> {
    const [from, to] = a <= b ? [a, b] : [b, a];
    return new Set(this.collection.ids.slice(from, to + 1));
  }

  /** After the id list changed: keep focus on the same photo when it is still there. */
  rebase(focusedId: number | undefined): void {
    const ids = new Set(this.collection.ids);
    const index = focusedId === undefined ? -1 : this.collection.index(focusedId);
    this.selection.set((prev) => ({
      focus: index >= 0 ? index : Math.min(prev.focus, Math.max(0, this.collection.size - 1)),
      anchor: index >= 0 ? index : 0,
      selected: new Set([...prev.selected].filter((id) => ids.has(id))),
    }));
  }
}
