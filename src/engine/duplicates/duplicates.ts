// Identical and near-identical images.
//
// Identical: one content (sha256) held by several files. Near-identical: contents whose embeddings
// have cosine ≥ threshold (re-encodes, resizes, light crops). Near pairs are joined with union-find,
// so a group is a connected component; each group names a representative — the largest image, then the
// earliest (capture time, then file time), then the first path.
//
// Finding near pairs without comparing every pair: small libraries are compared all-pairs; larger
// ones go through locality-sensitive hashing over the signatures stored at indexing time
// (near-pairs.ts). A `NearDuplicates` keeps the pairs it found, so the next `find()` after indexing
// compares only the contents added since against the library (and forgets those gone). Nothing here
// writes to the library.

import type { FileRecord, Library } from '../library/library.js';
import { contentsWithManyFiles, filesForContents } from '../search/files.js';
import { loadSignatures } from '../vectors/code-store.js';
import { cosineFixed16 } from '../vectors/fixed16.js';
import { nearPairs } from './near-pairs.js';

export interface DuplicateGroup {
  /** 'exact': one content at several paths. 'near': several contents with similar embeddings. */
  kind: 'exact' | 'near';
  /** Lowest pairwise cosine among the group's contents (1 for exact groups; see `DuplicateReport`). */
  similarity: number;
  representative: FileRecord;
  /** Every file of the group, representative first. */
  files: FileRecord[];
  /** Distinct contents in the group. */
  contents: number;
}

export interface DuplicateOptions {
  /** Cosine at or above which two images count as near-duplicates (default 0.95). */
  threshold?: number;
  /** Also report contents held by several files that have no near-duplicate (default true). */
  exact?: boolean;
}

export interface DuplicateReport {
  groups: DuplicateGroup[];
  threshold: number;
  /** How this run compared: 'none' when no content was new since the last run. */
  method: 'all-pairs' | 'lsh' | 'none';
  /** Contents compared against the library in this run (all of them on a first run). */
  compared: number;
  /** Contents taking part (embedded and held by a present file). */
  total: number;
  /** Pairs whose exact cosine was computed. */
  pairsChecked: number;
  ms: number;
}

export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;
/** Up to this many contents, every pair is compared exactly. */
export const ALL_PAIRS_LIMIT = 2000;
/** 16-bit vectors kept in memory while confirming pairs (~100 MB). */
const VECTOR_CACHE = 100_000;
/** Groups up to this size get their exact lowest pairwise similarity; larger ones the lowest linking pair. */
const EXACT_SIMILARITY_LIMIT = 64;

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r];
    while (this.parent[a] !== r) {
      const next = this.parent[a];
      this.parent[a] = r;
      a = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** A found near pair, by content id (a < b). */
export interface ContentPair {
  a: number;
  b: number;
  score: number;
}

/**
 * Near-duplicate pairs of one model's embeddings at one threshold, kept between runs: each `find()`
 * compares only contents it has not compared yet.
 */
export class NearDuplicates {
  private readonly known = new Set<number>();
  private pairs: ContentPair[] = [];
  private readonly vectors = new Map<number, Int16Array>();
  private readonly read: (contentId: number) => Int16Array | undefined;

  constructor(
    private readonly library: Library,
    readonly modelKey: string,
    readonly threshold = DEFAULT_DUPLICATE_THRESHOLD,
  ) {
    if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
    this.read = library.fixedEmbeddingReader(modelKey);
  }

  /** The near pairs found so far (content ids, a < b). */
  foundPairs(): readonly ContentPair[] {
    return this.pairs;
  }

  private cosine(a: number, b: number): number {
    const va = this.vector(a);
    const vb = this.vector(b);
    return va && vb ? cosineFixed16(va, vb) : -1;
  }

  private vector(id: number): Int16Array | undefined {
    let v = this.vectors.get(id);
    if (!v) {
      v = this.read(id);
      if (!v) return undefined;
      // Bounded: at a million images the pairs to confirm touch most of the library (~1 KB each).
      if (this.vectors.size >= VECTOR_CACHE) this.vectors.clear();
      this.vectors.set(id, v);
    }
    return v;
  }

  find(opts: { exact?: boolean } = {}): DuplicateReport {
    const started = performance.now();
    const embedded = this.library.embeddedContentIds(this.modelKey);
    // Only contents that some present file still holds take part.
    const current = new Set<number>();
    for (const id of this.library.presentContentIds()) if (embedded.has(id)) current.add(id);
    let gone = false;
    for (const id of this.known) {
      if (!current.has(id)) {
        this.known.delete(id);
        gone = true;
      }
    }
    if (gone) this.pairs = this.pairs.filter((p) => this.known.has(p.a) && this.known.has(p.b));
    const fresh: number[] = [];
    for (const id of current) if (!this.known.has(id)) fresh.push(id);

    let method: DuplicateReport['method'] = 'none';
    let pairsChecked = 0;
    if (fresh.length > 0) {
      if (current.size <= ALL_PAIRS_LIMIT) {
        method = 'all-pairs';
        pairsChecked = this.allPairs(fresh, current);
      } else {
        method = 'lsh';
        pairsChecked = this.hashed(fresh, current);
      }
    }
    for (const id of fresh) this.known.add(id);

    return {
      groups: this.groups(opts.exact !== false),
      threshold: this.threshold,
      method,
      compared: fresh.length,
      total: current.size,
      pairsChecked,
      ms: performance.now() - started,
    };
  }

  private addPair(x: number, y: number, score: number): void {
    this.pairs.push(x < y ? { a: x, b: y, score } : { a: y, b: x, score });
  }

  /** Every pair with at least one fresh content, exactly. */
  private allPairs(fresh: number[], current: Set<number>): number {
    const freshSet = new Set(fresh);
    const old = [...current].filter((id) => !freshSet.has(id));
    let checked = 0;
    for (let i = 0; i < fresh.length; i++) {
      for (let j = i + 1; j < fresh.length; j++) {
        checked++;
        const c = this.cosine(fresh[i], fresh[j]);
        if (c >= this.threshold) this.addPair(fresh[i], fresh[j], c);
      }
      for (const o of old) {
        checked++;
        const c = this.cosine(fresh[i], o);
        if (c >= this.threshold) this.addPair(fresh[i], o, c);
      }
    }
    return checked;
  }

  /** LSH over the stored signatures; on a later run only pairs that include a fresh content. */
  private hashed(fresh: number[], current: Set<number>): number {
    const sigs = loadSignatures(this.library, this.modelKey, current);
    const ids = sigs.ids;
    let meanNormSq = 0;
    for (const m of sigs.mean) meanNormSq += m * m;
    let probes: Uint8Array | undefined;
    if (fresh.length < current.size) {
      const freshSet = new Set(fresh);
      probes = new Uint8Array(ids.length);
      ids.forEach((id, i) => {
        if (freshSet.has(id)) probes![i] = 1;
      });
    }
    const found = nearPairs({
      count: ids.length,
      signatures: sigs.data,
      meanNormSq,
      threshold: this.threshold,
      cosine: (a, b) => this.cosine(ids[a], ids[b]),
      probes,
    });
    for (const p of found.pairs) this.addPair(ids[p.a], ids[p.b], p.score);
    return found.checked;
  }

  private groups(withExact: boolean): DuplicateGroup[] {
    const index = new Map<number, number>();
    const idOf: number[] = [];
    const slot = (id: number): number => {
      let s = index.get(id);
      if (s === undefined) {
        s = idOf.length;
        index.set(id, s);
        idOf.push(id);
      }
      return s;
    };
    for (const p of this.pairs) {
      slot(p.a);
      slot(p.b);
    }
    const uf = new UnionFind(idOf.length);
    for (const p of this.pairs) uf.union(index.get(p.a)!, index.get(p.b)!);
    const members = new Map<number, number[]>();
    for (let s = 0; s < idOf.length; s++) {
      const r = uf.find(s);
      const list = members.get(r);
      if (list) list.push(idOf[s]);
      else members.set(r, [idOf[s]]);
    }
    const linkMin = new Map<number, number>();
    for (const p of this.pairs) {
      const r = uf.find(index.get(p.a)!);
      linkMin.set(r, Math.min(linkMin.get(r) ?? 1, p.score));
    }

    const groups: DuplicateGroup[] = [];
    const inNearGroup = new Set<number>();
    const files = filesForContents(this.library, idOf);
    for (const [root, contentIds] of members) {
      contentIds.forEach((c) => inNearGroup.add(c));
      const groupFiles = contentIds.flatMap((c) => files.get(c) ?? []);
      if (groupFiles.length < 2) continue;
      let similarity = linkMin.get(root) ?? this.threshold;
      if (contentIds.length <= EXACT_SIMILARITY_LIMIT) {
        for (let i = 0; i < contentIds.length; i++) {
          for (let j = i + 1; j < contentIds.length; j++) similarity = Math.min(similarity, this.cosine(contentIds[i], contentIds[j]));
        }
      }
      groups.push(makeGroup('near', Math.max(-1, Math.min(1, similarity)), groupFiles, contentIds.length));
    }
    if (withExact) {
      for (const [contentId, list] of contentsWithManyFiles(this.library, 2)) {
        if (inNearGroup.has(contentId)) continue;
        groups.push(makeGroup('exact', 1, list, 1));
      }
    }
    groups.sort((x, y) => y.files.length - x.files.length || x.representative.path.localeCompare(y.representative.path));
    return groups;
  }
}

/** One full run (keep a `NearDuplicates` to compare only new images next time). */
export function findDuplicates(library: Library, modelKey: string, opts: DuplicateOptions = {}): DuplicateReport {
  return new NearDuplicates(library, modelKey, opts.threshold ?? DEFAULT_DUPLICATE_THRESHOLD).find({ exact: opts.exact });
}

/** Largest image first, then earliest capture, then earliest file time, then path. */
export function compareRepresentative(a: FileRecord, b: FileRecord): number {
  const area = (f: FileRecord) => (f.width ?? 0) * (f.height ?? 0);
  if (area(a) !== area(b)) return area(b) - area(a);
  const ta = a.takenAt ?? Number.POSITIVE_INFINITY;
  const tb = b.takenAt ?? Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs - b.mtimeMs;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function makeGroup(kind: DuplicateGroup['kind'], similarity: number, files: FileRecord[], contents: number): DuplicateGroup {
  const sorted = [...files].sort(compareRepresentative);
  return { kind, similarity, representative: sorted[0], files: sorted, contents };
}
