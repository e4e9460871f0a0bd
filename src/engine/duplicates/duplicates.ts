// Identical and near-identical images.
//
// Identical: one content (sha256) held by several files. Near-identical: contents whose embeddings
// have cosine ≥ threshold (re-encodes, resizes, light crops). Near pairs are joined with union-find,
// so a group is a connected component; each group names a representative — the largest image, then the
// earliest (capture time, then file time), then the first path.
//
// Finding near pairs without comparing every pair: small libraries are compared all-pairs; larger
// ones go through locality-sensitive hashing over the signatures stored at indexing time
// (near-pairs.ts). At a million images a from-scratch run is minutes on two cores (bench `vectors`),
// so pairs at or above STORED_PAIRS_THRESHOLD are found at indexing time, incrementally — only the
// images indexed since the last run are compared against the library (persistNearPairs) — and a
// duplicate search reads them. What indexing has not covered yet, and thresholds below the stored
// one, are compared in memory by a `NearDuplicates`, which keeps what it found so its next `find()`
// again compares only what is new. Searching for duplicates never writes to the library.

import { TriagemError } from '../errors.js';
import type { FileRecord, Library } from '../library/library.js';
import { ConcurrentChange, type BlockWriter } from '../library/vector-blocks.js';
import { contentsWithManyFiles, filesForContents } from '../search/files.js';
import { IdMask, appendToBlocks, blockIds, loadSignatures, removeFromBlocks, type Write } from '../vectors/code-store.js';
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
  /** How this run compared in memory: 'none' when nothing was new since indexing or the last run. */
  method: 'all-pairs' | 'lsh' | 'none';
  /** Whether pairs found at indexing time were used. */
  stored: boolean;
  /** Contents compared against the library in memory in this run. */
  compared: number;
  /** Contents taking part (embedded and held by a present file). */
  total: number;
  /** Pairs whose exact cosine was computed in this run. */
  pairsChecked: number;
  ms: number;
}

export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;
/** Indexing stores every pair at or above this cosine. */
export const STORED_PAIRS_THRESHOLD = DEFAULT_DUPLICATE_THRESHOLD;
/** Up to this many contents, every pair is compared exactly. */
export const ALL_PAIRS_LIMIT = 2000;
/** 16-bit vectors kept in memory while confirming pairs (~100 MB). */
const VECTOR_CACHE = 100_000;
/**
 * A from-scratch run confirms pairs spread over the whole library: up to this many bytes of 16-bit
 * vectors (a million 512-d ones is 1 GB) are read in one pass instead of by point reads, for the
 * length of that run only.
 */
const FULL_RUN_VECTOR_BYTES = 1.5 * 2 ** 30;
/** Groups up to this size get their exact lowest pairwise similarity; larger ones the lowest linking pair. */
const EXACT_SIMILARITY_LIMIT = 64;
const PERSIST_ATTEMPTS = 3;

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

/** A near pair by content id (a < b). */
export interface ContentPair {
  a: number;
  b: number;
  score: number;
}

/** Stored 16-bit vectors by content id: point reads with a bounded cache, or all of them read at once. */
class Vectors {
  private readonly cache = new Map<number, Int16Array>();
  private all: { row: Map<number, number>; data: Int16Array; dim: number } | undefined;
  private readonly read: (id: number) => Int16Array | undefined;

  constructor(library: Library, key: string, preload: boolean) {
    this.read = library.fixedEmbeddingReader(key);
    if (preload) {
      const { dim } = library.embeddingModel(key);
      const { ids, data } = library.allFixedEmbeddings(key);
      const row = new Map<number, number>();
      ids.forEach((id, r) => row.set(id, r));
      this.all = { row, data, dim };
    }
  }

  get(id: number): Int16Array | undefined {
    if (this.all) {
      const r = this.all.row.get(id);
      return r === undefined ? undefined : this.all.data.subarray(r * this.all.dim, (r + 1) * this.all.dim);
    }
    let v = this.cache.get(id);
    if (!v) {
      v = this.read(id);
      if (!v) return undefined;
      // Bounded: at a million images the pairs to confirm touch most of the library (~1 KB each).
      if (this.cache.size >= VECTOR_CACHE) this.cache.clear();
      this.cache.set(id, v);
    }
    return v;
  }

  cosine(a: number, b: number): number {
    const va = this.get(a);
    const vb = this.get(b);
    return va && vb ? cosineFixed16(va, vb) : -1;
  }
}

/**
 * Near pairs among `ids` at `threshold` that include at least one content `probe` accepts (all pairs
 * when `probe` is undefined): exactly for small sets, by LSH over the signatures otherwise.
 */
function comparePairs(
  library: Library,
  key: string,
  ids: Int32Array,
  probe: ((id: number) => boolean) | undefined,
  threshold: number,
  vectors: Vectors,
): { pairs: ContentPair[]; checked: number; method: 'all-pairs' | 'lsh' } {
  const pairs: ContentPair[] = [];
  const add = (x: number, y: number, score: number) => pairs.push(x < y ? { a: x, b: y, score } : { a: y, b: x, score });
  if (ids.length <= ALL_PAIRS_LIMIT) {
    let checked = 0;
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        if (probe && !probe(ids[i]) && !probe(ids[j])) continue;
        checked++;
        const c = vectors.cosine(ids[i], ids[j]);
        if (c >= threshold) add(ids[i], ids[j], c);
      }
    }
    return { pairs, checked, method: 'all-pairs' };
  }
  const sigs = loadSignatures(library, key, ids);
  let meanNormSq = 0;
  for (const m of sigs.mean) meanNormSq += m * m;
  const probes = probe ? Uint8Array.from(sigs.ids, (id) => (probe(id) ? 1 : 0)) : undefined;
  const found = nearPairs({
    count: sigs.ids.length,
    signatures: sigs.data,
    meanNormSq,
    threshold,
    cosine: (a, b) => vectors.cosine(sigs.ids[a], sigs.ids[b]),
    probes,
  });
  for (const p of found.pairs) add(sigs.ids[p.a], sigs.ids[p.b], p.score);
  return { pairs, checked: found.checked, method: 'lsh' };
}

export interface PairsReport {
  /** Contents compared against the library (all of them when nothing was stored yet). */
  compared: number;
  /** Whether this was a from-scratch run. */
  full: boolean;
  found: number;
  /** Contents whose pairs were dropped because they left the library. */
  removed: number;
  total: number;
  ms: number;
}

/**
 * Indexing time, after persistVectorIndex: finds the pairs at or above STORED_PAIRS_THRESHOLD that
 * involve contents not covered yet, stores them, and drops the pairs of contents that are gone.
 */
export function persistNearPairs(library: Library, key: string): PairsReport {
  for (let attempt = 1; ; attempt++) {
    try {
      return persistPairsOnce(library, key);
    } catch (err) {
      if (!(err instanceof ConcurrentChange)) throw err;
      if (attempt >= PERSIST_ATTEMPTS) throw new TriagemError('near-duplicate pairs keep changing under another process; try again', 'search-busy', library.file);
    }
  }
}

function persistPairsOnce(library: Library, key: string): PairsReport {
  const started = performance.now();
  const { id: modelId, dim } = library.embeddingModel(key);
  const store = library.vectorBlocks;
  const state = store.state(modelId);
  const embedded = library.embeddedIdList(key);
  const inLibrary = new IdMask(embedded);
  const paired = state?.pairsThreshold === STORED_PAIRS_THRESHOLD ? store.read(modelId, 'paired', 0) : undefined;
  const covered = new IdMask(paired ? blockIds(paired) : []);
  const fresh: number[] = [];
  for (const id of embedded) if (!covered.has(id)) fresh.push(id);
  let removed = 0;
  for (const b of paired ?? []) for (const id of b.ids) if (!inLibrary.has(id)) removed++;
  const writes: Write[] = [];
  let found: ContentPair[] = [];
  if (fresh.length > 0) {
    const full = !paired || fresh.length === embedded.length;
    const vectors = new Vectors(library, key, full && embedded.length * dim * 2 <= FULL_RUN_VECTOR_BYTES);
    const freshMask = new IdMask(fresh);
    found = comparePairs(library, key, embedded, full ? undefined : (id) => freshMask.has(id), STORED_PAIRS_THRESHOLD, vectors).pairs;
  }
  if (!paired) {
    writes.push((w) => w.resetPairs(STORED_PAIRS_THRESHOLD));
    writes.push((w) => w.clear('paired'));
    appendToBlocks([], Int32Array.from(fresh), new Uint8Array(0), 0, 'paired', writes);
  } else if (fresh.length > 0 || removed > 0) {
    const gone = (id: number) => !inLibrary.has(id);
    if (removed > 0) {
      const goneIds: number[] = [];
      for (const b of paired) for (const id of b.ids) if (gone(id)) goneIds.push(id);
      writes.push((w) => w.deletePairsOf(goneIds));
    }
    appendToBlocks(removeFromBlocks(paired, gone, 0, 'paired', writes), Int32Array.from(fresh), new Uint8Array(0), 0, 'paired', writes);
  }
  if (found.length > 0) writes.push((w: BlockWriter) => w.putPairs(found));
  if (writes.length > 0) store.commit(modelId, state?.generation, (w) => writes.forEach((write) => write(w)));
  return { compared: fresh.length, full: !paired, found: found.length, removed, total: embedded.length, ms: performance.now() - started };
}

/**
 * Near-duplicate pairs of one model's embeddings at one threshold, kept between runs: each `find()`
 * compares in memory only contents neither indexing nor an earlier run has compared.
 */
export class NearDuplicates {
  private known = new Set<number>();
  private pairs: ContentPair[] = [];
  /** The stored state the pairs were seeded from (its generation), or undefined when in memory only. */
  private seededFrom: number | undefined;

  constructor(
    private readonly library: Library,
    readonly modelKey: string,
    readonly threshold = DEFAULT_DUPLICATE_THRESHOLD,
  ) {
    if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
  }

  /** The near pairs found so far (content ids, a < b). */
  foundPairs(): readonly ContentPair[] {
    return this.pairs;
  }

  find(opts: { exact?: boolean } = {}): DuplicateReport {
    const started = performance.now();
    const { id: modelId } = this.library.embeddingModel(this.modelKey);
    const embedded = new IdMask(this.library.embeddedIdList(this.modelKey));
    // Only contents that some present file still holds take part.
    const current: number[] = [];
    for (const id of this.library.presentContentIds()) if (embedded.has(id)) current.push(id);
    const currentMask = new IdMask(current);

    // Pairs indexing stored, when they reach down to this threshold: re-read whenever indexing ran since.
    const state = this.library.vectorBlocks.state(modelId);
    const usable = state && state.pairsThreshold !== null && this.threshold >= state.pairsThreshold;
    if (usable && state.generation !== this.seededFrom) {
      const paired = this.library.vectorBlocks.read(modelId, 'paired', 0) ?? [];
      this.known = new Set(blockIds(paired));
      const stored = this.library.vectorBlocks.pairs(modelId, this.threshold);
      this.pairs = Array.from(stored.a, (a, i) => ({ a, b: stored.b[i], score: stored.score[i] }));
      this.seededFrom = state.generation;
    } else if (!usable && this.seededFrom !== undefined) {
      this.known = new Set();
      this.pairs = [];
      this.seededFrom = undefined;
    }

    let gone = false;
    for (const id of this.known) {
      if (!currentMask.has(id)) {
        this.known.delete(id);
        gone = true;
      }
    }
    if (gone) this.pairs = this.pairs.filter((p) => currentMask.has(p.a) && currentMask.has(p.b));
    const fresh = current.filter((id) => !this.known.has(id));

    let method: DuplicateReport['method'] = 'none';
    let pairsChecked = 0;
    const vectors = new Vectors(this.library, this.modelKey, false);
    if (fresh.length > 0) {
      const freshMask = new IdMask(fresh);
      const all = fresh.length === current.length;
      const run = comparePairs(this.library, this.modelKey, Int32Array.from(current), all ? undefined : (id) => freshMask.has(id), this.threshold, vectors);
      method = run.method;
      pairsChecked = run.checked;
      this.pairs.push(...run.pairs);
      for (const id of fresh) this.known.add(id);
    }
    return {
      groups: this.groups(opts.exact !== false, vectors),
      threshold: this.threshold,
      method,
      stored: this.seededFrom !== undefined,
      compared: fresh.length,
      total: current.length,
      pairsChecked,
      ms: performance.now() - started,
    };
  }

  private groups(withExact: boolean, vectors: Vectors): DuplicateGroup[] {
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
          for (let j = i + 1; j < contentIds.length; j++) similarity = Math.min(similarity, vectors.cosine(contentIds[i], contentIds[j]));
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

/** One run (keep a `NearDuplicates` to compare only new images next time). */
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
