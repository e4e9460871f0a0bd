// One list of photos the window shows (the library, a review queue, search results): the ordered
// file ids, sent whole by the engine, and the tiles, fetched by id only for the rows in view. A
// mark, a tag or an undo patches the cached tiles in place; nothing refetches what it already knows.
import { useSyncExternalStore } from 'react';
import type { TriagemClient } from '../../../shared/client.js';
import type { BrowseItem, SearchHit } from '../../../shared/contract.js';

export type TextSnippet = NonNullable<SearchHit['ocrSnippet']>;

type MarkPatch = { contentId: number; label: string | null; flag: 'keep' | 'reject' | null };

/** Tiles asked for per request: a screenful at the smallest tile size, in one round trip. */
const PAGE = 200;
/** Requests in flight at once; later scroll positions wait rather than pile up. */
const PARALLEL = 2;

export class Collection {
  private items = new Map<number, BrowseItem>();
  private requested = new Set<number>();
  private wanted: number[] = [];
  private running = 0;
  private listeners = new Set<() => void>();
  private indexOf: Map<number, number> | undefined;
  private disposed = false;
  /** Bumps on every change, for views that re-render on any change of the list. */
  version = 0;

  constructor(
    private readonly client: TriagemClient,
    public ids: number[],
    readonly runId: number | undefined,
    /** Per-file numbers shown beside a tile (search relevance). */
    readonly scores?: ReadonlyMap<number, number>,
    /** Per-file text found in the image around the searched words (a search of images' text). */
    readonly snippets?: ReadonlyMap<number, TextSnippet>,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  item(fileId: number): BrowseItem | undefined {
    return this.items.get(fileId);
  }

  itemAt(index: number): BrowseItem | undefined {
    const id = this.ids[index];
    return id === undefined ? undefined : this.items.get(id);
  }

  index(fileId: number): number {
    this.indexOf ??= new Map(this.ids.map((id, i) => [id, i]));
    return this.indexOf.get(fileId) ?? -1;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private changed(): void {
    this.version++;
    for (const l of [...this.listeners]) l();
  }

  /** Loads the tiles of indices [from, to) that are not loaded yet; the newest range wins the queue. */
  ensure(from: number, to: number): void {
    const missing: number[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.ids.length); i++) {
      const id = this.ids[i];
      if (!this.items.has(id) && !this.requested.has(id)) missing.push(id);
    }
    this.wanted = missing;
    this.pump();
  }

  private pump(): void {
    while (this.running < PARALLEL && this.wanted.length > 0 && !this.disposed) {
      const batch = this.wanted.splice(0, PAGE);
      for (const id of batch) this.requested.add(id);
      this.running++;
      this.client
        .invoke('library.items', { fileIds: batch, runId: this.runId })
        .then(
          ({ items }) => {
            for (const item of items) this.items.set(item.fileId, item);
            this.changed();
          },
          () => {
            // Let a later scroll ask again.
            for (const id of batch) this.requested.delete(id);
          },
        )
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  /** New state of contents after a mark or an undo: every tile showing that content changes. */
  patchMarks(marks: readonly MarkPatch[]): void {
    if (marks.length === 0) return;
    const byContent = new Map(marks.map((m) => [m.contentId, m]));
    let touched = false;
    for (const [id, item] of this.items) {
      const m = byContent.get(item.contentId);
      if (!m) continue;
      this.items.set(id, { ...item, mark: m.label === null && m.flag === null ? null : { label: m.label, flag: m.flag } });
      touched = true;
    }
    if (touched) this.changed();
  }

  patchTags(contentIds: ReadonlySet<number>, tag: string, action: 'add' | 'remove'): void {
    let touched = false;
    for (const [id, item] of this.items) {
      if (!contentIds.has(item.contentId)) continue;
      const tags = action === 'add' ? [...new Set([...item.tags, tag])].sort() : item.tags.filter((t) => t !== tag);
      this.items.set(id, { ...item, tags });
      touched = true;
    }
    if (touched) this.changed();
  }

  /** Forget these tiles (or all) so the rows in view fetch them again. */
  invalidate(fileIds?: readonly number[]): void {
    if (!fileIds) {
      this.items.clear();
      this.requested.clear();
    } else {
      for (const id of fileIds) {
        this.items.delete(id);
        this.requested.delete(id);
      }
    }
    this.changed();
  }

  /** A new id list for the same view (indexing added files); loaded tiles are kept. */
  replaceIds(ids: number[]): void {
    this.ids = ids;
    this.indexOf = undefined;
    this.changed();
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
  }
}

/** How many photos a collection lists, re-rendering when indexing adds more. */
export function useCollectionSize(collection: Collection | null | undefined): number {
  return useSyncExternalStore(
    (l) => collection?.subscribe(l) ?? (() => undefined),
    () => collection?.size ?? 0,
  );
}
