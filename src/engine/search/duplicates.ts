// Identical and near-identical images.
//
// Identical: one content (sha256) held by several files. Near-identical: contents whose embeddings
// have cosine ≥ threshold (re-encodes, resizes, light crops). Near pairs are joined with union-find,
// so a group is a connected component; each group names a representative — the largest image, then the
// earliest (capture time, then file time), then the first path.
//
// Finding near pairs without comparing every pair: small libraries are compared all-pairs; larger
// ones go through locality-sensitive hashing (near-pairs.ts), which only looks at pairs that are
// likely to be close and confirms each with the exact cosine.

import type { FileRecord, Library } from '../library/library.js';
import { contentsWithManyFiles, filesForContents } from './files.js';
import { decodeFixed16, fixed16View } from './fixed16.js';
import { nearPairs } from './near-pairs.js';
import type { VectorIndex } from './vector-index.js';

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
  method: 'all-pairs' | 'lsh';
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

interface Edges {
  a: number[];
  b: number[];
  score: number[];
}

export function findDuplicates(library: Library, index: VectorIndex, opts: DuplicateOptions = {}): DuplicateReport {
  const started = performance.now();
  const threshold = opts.threshold ?? DEFAULT_DUPLICATE_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
  const dim = index.dim;

  // Only contents that some present file still holds take part.
  const present = new Set(library.db.prepare('SELECT DISTINCT content_id FROM files WHERE present = 1').pluck().all() as number[]);
  const slots: number[] = [];
  for (let s = 0; s < index.size; s++) if (present.has(index.contentIdAt(s))) slots.push(s);

  const vectors = new Map<number, Int16Array>();
  const vectorOf = (slot: number): Int16Array | undefined => {
    let v = vectors.get(slot);
    if (!v) {
      const blob = index.fixedVector(index.contentIdAt(slot));
      if (!blob) return undefined;
      v = fixed16View(blob);
      // Bounded: at a million images the pairs to confirm touch most of the library (~1 KB each).
      if (vectors.size >= VECTOR_CACHE) vectors.clear();
      vectors.set(slot, v);
    }
    return v;
  };
  const scale = 1 / (32767 * 32767);
  const cosine = (a: number, b: number): number => {
    const va = vectorOf(a);
    const vb = vectorOf(b);
    if (!va || !vb) return -1;
    let s = 0;
    for (let j = 0; j < dim; j++) s += va[j] * vb[j];
    return s * scale;
  };

  const edges: Edges = { a: [], b: [], score: [] };
  let pairsChecked = 0;
  let method: DuplicateReport['method'];
  if (slots.length <= ALL_PAIRS_LIMIT) {
    method = 'all-pairs';
    for (let i = 0; i < slots.length; i++) {
      for (let j = i + 1; j < slots.length; j++) {
        const c = cosine(slots[i], slots[j]);
        pairsChecked++;
        if (c >= threshold) pushEdge(edges, slots[i], slots[j], c);
      }
    }
  } else {
    method = 'lsh';
    const itemOf = new Map<number, number>();
    slots.forEach((slot, item) => itemOf.set(index.contentIdAt(slot), item));
    const row = new Float32Array(dim);
    const found = nearPairs({
      dim,
      count: slots.length,
      mean: index.meanVector(),
      readVectors: (visit) =>
        index.forEachFixedVector((contentId, blob) => {
          const item = itemOf.get(contentId);
          if (item !== undefined) visit(item, decodeFixed16(blob, row));
        }),
      cosine: (a, b) => cosine(slots[a], slots[b]),
      threshold,
    });
    for (const pair of found.pairs) pushEdge(edges, slots[pair.a], slots[pair.b], pair.score);
    pairsChecked = found.checked;
  }

  const uf = new UnionFind(index.size);
  for (let i = 0; i < edges.a.length; i++) uf.union(edges.a[i], edges.b[i]);
  const members = new Map<number, number[]>();
  const touched = new Set<number>([...edges.a, ...edges.b]);
  for (const s of touched) {
    const r = uf.find(s);
    const list = members.get(r);
    if (list) list.push(s);
    else members.set(r, [s]);
  }
  const linkMin = new Map<number, number>();
  for (let i = 0; i < edges.a.length; i++) {
    const r = uf.find(edges.a[i]);
    linkMin.set(r, Math.min(linkMin.get(r) ?? 1, edges.score[i]));
  }

  const groups: DuplicateGroup[] = [];
  const inNearGroup = new Set<number>();
  const nearContentIds: number[] = [];
  for (const list of members.values()) for (const s of list) nearContentIds.push(index.contentIdAt(s));
  const files = filesForContents(library, nearContentIds);
  for (const [root, list] of members) {
    const contentIds = list.map((s) => index.contentIdAt(s));
    contentIds.forEach((c) => inNearGroup.add(c));
    const groupFiles = contentIds.flatMap((c) => files.get(c) ?? []);
    if (groupFiles.length < 2) continue;
    let similarity = linkMin.get(root) ?? threshold;
    if (list.length <= EXACT_SIMILARITY_LIMIT) {
      for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) similarity = Math.min(similarity, cosine(list[i], list[j]));
    }
    groups.push(makeGroup('near', Math.max(-1, Math.min(1, similarity)), groupFiles, contentIds.length));
  }
  if (opts.exact !== false) {
    for (const [contentId, list] of contentsWithManyFiles(library, 2)) {
      if (inNearGroup.has(contentId)) continue;
      groups.push(makeGroup('exact', 1, list, 1));
    }
  }
  groups.sort((x, y) => y.files.length - x.files.length || x.representative.path.localeCompare(y.representative.path));
  return { groups, threshold, method, pairsChecked, ms: performance.now() - started };
}

function pushEdge(edges: Edges, a: number, b: number, score: number): void {
  edges.a.push(a);
  edges.b.push(b);
  edges.score.push(score);
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
