// The window's state lives in a few small stores read with useSyncExternalStore: components
// subscribe to the slice they show, so a mark on one tile re-renders that tile, not the window.
import { useCallback, useRef, useSyncExternalStore } from 'react';

export class Store<T> {
  private listeners = new Set<() => void>();
  constructor(private state: T) {}

  get(): T {
    return this.state;
  }

  set(next: T | ((prev: T) => T)): void {
    const value = typeof next === 'function' ? (next as (prev: T) => T)(this.state) : next;
    if (Object.is(value, this.state)) return;
    this.state = value;
    for (const l of [...this.listeners]) l();
  }

  update(patch: Partial<T>): void {
    this.set((prev) => ({ ...prev, ...patch }));
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/** The slice `select` picks from `store`; re-renders only when that slice changes (Object.is). */
export function useStore<T, S>(store: Store<T>, select: (state: T) => S): S {
  const selectRef = useRef(select);
  selectRef.current = select;
  const get = useCallback(() => selectRef.current(store.get()), [store]);
  return useSyncExternalStore(store.subscribe, get, get);
}
