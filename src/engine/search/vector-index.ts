// Two-stage nearest-neighbour search over one model's embeddings.
//
//   1. coarse: Hamming distance from the query's sign code to every stored sign code (WebAssembly
//      popcount scan, ~5 ms per million), keeping the `coarse` closest;
//   2. re-rank: asymmetric score of those survivors against their 2-bit codes (float query ×
//      reconstructed levels, table lookups), keeping the `rescore` best;
//   3. exact: cosine with the 16-bit copy of each survivor's embedding, read by content id.
// A filter becomes a slot mask for stage 1; when it leaves only a few thousand contents, their exact
// cosines are computed directly instead (cheaper than the scan, and exact).
//
// Chosen by measurement (bench `search`, 1M × 512, this 2-core machine): sqlite-vec's own bit vectors
// (vec0 bit[512], Hamming KNN) take ~48 ms for k = 10 and ~1.9 s for the k = 1000+ candidates a
// two-stage search needs; the codes held in WebAssembly memory are scanned in ~5-9 ms on one thread,
// so the search needs no worker threads. Codes stay persisted in the library (code-store.ts).

import type { Database, Statement } from 'better-sqlite3';
import type { Library } from '../library/library.js';
import { syncCodes, type CodeSnapshot, type SyncReport } from './code-store.js';
import { decodeFixed16, dotFixed16 } from './fixed16.js';
import { HammingScanner } from './hamming-kernel.js';
import { asymmetricScores, asymmetricTables, planeBytes, querySignCode, type QuantizerParams } from './quantizer.js';

export interface Neighbour {
  contentId: number;
  score: number;
}

export interface KnnOptions {
  k: number;
  /** Only these contents may be returned (from filters). */
  allowed?: ReadonlySet<number>;
  /** These contents are never returned (e.g. the query image itself). */
  exclude?: ReadonlySet<number>;
  /** Force exact search over every allowed content (tests, benchmarks). */
  exact?: boolean;
}

export interface KnnResult {
  /** Best first, at most k. */
  hits: Neighbour[];
  /** Exact scores of every candidate that was re-scored, best first (≥ hits): the head of the distribution. */
  head: number[];
  /** Which path answered. */
  mode: 'two-stage' | 'exact-subset' | 'empty';
  /** Candidates that reached exact re-scoring. */
  rescored: number;
}

/** Below this many allowed contents an exact scan of the subset is faster than the coarse scan. */
export const EXACT_SUBSET_LIMIT = 3000;
/** Contents whose exact scores stand for "what this query scores on a typical image". */
const BACKGROUND_SAMPLE = 1024;

/**
 * How many candidates each stage keeps. Measured on clustered CLIP-like synthetic vectors with
 * text-like queries (cosine ~0.3 to their images): at 1M, the 20k nearest sign codes re-ranked to 500
 * gave recall@10 ≈ 0.99; the Hamming stage alone needed ~20k exact re-scores for the same recall. The
 * coarse stage keeps a larger share of small libraries, where it costs next to nothing.
 */
export function stageSizes(n: number, k: number): { coarse: number; rescore: number } {
  const rescore = Math.min(n, Math.max(4 * k, 500));
  const coarse = Math.min(n, Math.max(8 * rescore, 10_000, Math.round(n * 0.02)));
  return { coarse, rescore };
}

export class VectorIndex {
  readonly dim: number;
  readonly key: string;
  private readonly scanner: HammingScanner;
  private readonly params: QuantizerParams | undefined;
  private readonly ids: Int32Array;
  private readonly mags: Uint8Array;
  private readonly plane: number;
  /** Content id → slot (−1 when absent); content ids are small dense integers. */
  private readonly slotOf: Int32Array;
  private readonly getVec: Statement;
  private readonly vectorsTable: string;
  private background: Float32Array | undefined;

  private constructor(
    private readonly db: Database,
    snapshot: CodeSnapshot,
    readonly sync: SyncReport | undefined,
  ) {
    this.dim = snapshot.dim;
    this.key = snapshot.key;
    this.params = snapshot.params;
    this.ids = snapshot.ids;
    this.mags = snapshot.mags;
    this.plane = planeBytes(snapshot.dim);
    this.scanner = new HammingScanner(this.plane / 8);
    this.scanner.append(snapshot.signs);
    let maxId = 0;
    for (const id of snapshot.ids) if (id > maxId) maxId = id;
    this.slotOf = new Int32Array(maxId + 1).fill(-1);
    snapshot.ids.forEach((id, slot) => {
      this.slotOf[id] = slot;
    });
    this.vectorsTable = snapshot.vectorsTable;
    this.getVec = db.prepare(`SELECT vec FROM ${snapshot.vectorsTable} WHERE content_id = ?`).pluck();
  }

  /** Syncs the model's codes with its embeddings (see `syncCodes`) and loads them. */
  static open(library: Library, key: string): VectorIndex {
    const { snapshot, report } = syncCodes(library, key);
    return new VectorIndex(library.db, snapshot, report);
  }

  get size(): number {
    return this.ids.length;
  }

  has(contentId: number): boolean {
    return contentId < this.slotOf.length && this.slotOf[contentId] >= 0;
  }

  /** The quantizer's mean embedding (zeros while the index is empty). */
  meanVector(): Float32Array {
    return this.params ? Float32Array.from(this.params.mean) : new Float32Array(this.dim);
  }

  /** Every stored 16-bit vector, in content id order (one pass over the table; do not write meanwhile). */
  forEachFixedVector(visit: (contentId: number, blob: Buffer) => void): void {
    for (const [id, blob] of this.db.prepare(`SELECT content_id, vec FROM ${this.vectorsTable} ORDER BY content_id`).raw().iterate() as IterableIterator<[number, Buffer]>) {
      if (blob.length === this.dim * 2) visit(id, blob);
    }
  }

  /** Content id stored at `slot` (0 ≤ slot < size). */
  contentIdAt(slot: number): number {
    return this.ids[slot];
  }

  slotOfContent(contentId: number): number {
    return contentId < this.slotOf.length ? this.slotOf[contentId] : -1;
  }

  /** Every sign code back to back, `signBytes` each (a view: do not keep it across index changes). */
  signCodes(): { codes: Uint8Array; signBytes: number } {
    return { codes: this.scanner.codes(), signBytes: this.plane };
  }

  /** Raw 16-bit vector of a content (see fixed16.ts), or undefined. */
  fixedVector(contentId: number): Buffer | undefined {
    const blob = this.getVec.get(contentId) as Buffer | undefined;
    return blob && blob.length === this.dim * 2 ? blob : undefined;
  }

  /** The stored (16-bit) embedding of a content, or undefined when it has none. */
  vector(contentId: number): Float32Array | undefined {
    const blob = this.getVec.get(contentId) as Buffer | undefined;
    return blob && blob.length === this.dim * 2 ? decodeFixed16(blob) : undefined;
  }

  /** Exact cosines of `query` with the given contents (those without a vector are left out). */
  exactScores(query: Float32Array, contentIds: Iterable<number>): Neighbour[] {
    const out: Neighbour[] = [];
    for (const id of contentIds) {
      const blob = this.getVec.get(id) as Buffer | undefined;
      if (blob && blob.length === this.dim * 2) out.push({ contentId: id, score: dotFixed16(query, blob) });
    }
    return out;
  }

  /**
   * Exact scores of `query` against a fixed random sample of the library: the background the
   * relevance cut-off compares a result to.
   */
  backgroundScores(query: Float32Array): Float32Array {
    if (!this.background) {
      const n = this.size;
      const take = Math.min(n, BACKGROUND_SAMPLE);
      const rows = new Float32Array(take * this.dim);
      // A fixed stride through the slots is as good as random here (slot order is indexing order, not
      // similarity) and keeps the sample stable between queries.
      const step = n / Math.max(1, take);
      let got = 0;
      for (let i = 0; i < take; i++) {
        const blob = this.getVec.get(this.ids[Math.floor(i * step)]) as Buffer | undefined;
        if (!blob || blob.length !== this.dim * 2) continue;
        decodeFixed16(blob, rows, got * this.dim);
        got++;
      }
      this.background = rows.subarray(0, got * this.dim);
    }
    const rows = this.background;
    const count = rows.length / this.dim;
    const out = new Float32Array(count);
    for (let r = 0; r < count; r++) {
      let s = 0;
      const o = r * this.dim;
      for (let j = 0; j < this.dim; j++) s += query[j] * rows[o + j];
      out[r] = s;
    }
    return out;
  }

  knn(query: Float32Array, opts: KnnOptions): KnnResult {
    if (query.length !== this.dim) throw new Error(`query has ${query.length} values, the index holds ${this.dim}`);
    const k = Math.max(0, Math.floor(opts.k));
    if (k === 0 || this.size === 0 || !this.params) return { hits: [], head: [], mode: 'empty', rescored: 0 };

    let mask: Uint8Array | undefined;
    let allowedCount = this.size;
    if (opts.allowed) {
      const slots: number[] = [];
      for (const id of opts.allowed) {
        if (opts.exclude?.has(id)) continue;
        const slot = id < this.slotOf.length ? this.slotOf[id] : -1;
        if (slot >= 0) slots.push(slot);
      }
      allowedCount = slots.length;
      if (allowedCount === 0) return { hits: [], head: [], mode: 'exact-subset', rescored: 0 };
      if (opts.exact || allowedCount <= Math.max(EXACT_SUBSET_LIMIT, k)) return this.exactSubset(query, slots, k);
      mask = new Uint8Array(this.size);
      for (const s of slots) mask[s] = 1;
    } else if (opts.exact) {
      return this.exactSubset(query, undefined, k, opts.exclude);
    }
    if (opts.exclude) {
      mask ??= new Uint8Array(this.size).fill(1);
      for (const id of opts.exclude) {
        const slot = id < this.slotOf.length ? this.slotOf[id] : -1;
        if (slot >= 0 && mask[slot]) {
          mask[slot] = 0;
          allowedCount--;
        }
      }
    }

    const { coarse, rescore } = stageSizes(allowedCount, k);
    const scan = this.scanner.scan(querySignCode(query, this.dim));
    // Without a mask the kernel's histogram already counts every code; with one, only allowed ones count.
    const survivors = selectSmallest(scan.distances, coarse, mask, this.plane * 8, mask ? undefined : scan.histogram);

    // Stage 2: asymmetric re-rank of the survivors.
    const lut = asymmetricTables(this.params, query);
    const approx = new Float32Array(survivors.length);
    asymmetricScores(lut, this.scanner.codes(), this.mags, this.plane, this.dim, survivors, approx);
    const best = selectLargest(approx, rescore);

    // Stage 3: exact cosine of the best, from their 16-bit copies.
    const scored: Neighbour[] = [];
    for (const i of best) {
      const id = this.ids[survivors[i]];
      const blob = this.getVec.get(id) as Buffer | undefined;
      if (blob && blob.length === this.dim * 2) scored.push({ contentId: id, score: dotFixed16(query, blob) });
    }
    scored.sort((a, b) => b.score - a.score);
    return { hits: scored.slice(0, k), head: scored.map((s) => s.score), mode: 'two-stage', rescored: scored.length };
  }

  private exactSubset(query: Float32Array, slots: number[] | undefined, k: number, exclude?: ReadonlySet<number>): KnnResult {
    const ids: number[] = [];
    if (slots) for (const s of slots) ids.push(this.ids[s]);
    else for (const id of this.ids) if (!exclude?.has(id)) ids.push(id);
    const scored = this.exactScores(query, ids).sort((a, b) => b.score - a.score);
    const head = scored.slice(0, Math.max(k, 1000)).map((s) => s.score);
    return { hits: scored.slice(0, k), head, mode: 'exact-subset', rescored: scored.length };
  }
}

/**
 * Indices of the `count` smallest distances (ties at the cut broken by position), honouring `mask`.
 * `histogram` (counts per distance of every entry) saves a pass when there is no mask.
 */
export function selectSmallest(dist: Uint16Array, count: number, mask: Uint8Array | undefined, maxDist: number, histogram?: Uint32Array): Int32Array {
  const n = dist.length;
  let hist: Uint32Array;
  let total = 0;
  if (histogram && !mask) {
    hist = histogram;
    total = n;
  } else {
    hist = new Uint32Array(maxDist + 2);
    if (mask) {
      for (let i = 0; i < n; i++) if (mask[i]) hist[dist[i]]++;
    } else {
      for (let i = 0; i < n; i++) hist[dist[i]]++;
    }
    for (let d = 0; d < hist.length; d++) total += hist[d];
  }
  const want = Math.min(count, total);
  let cut = 0;
  let below = 0;
  while (cut < hist.length && below + hist[cut] < want) below += hist[cut++];
  let ties = want - below;
  const out = new Int32Array(want);
  let k = 0;
  for (let i = 0; i < n && k < want; i++) {
    if (mask && !mask[i]) continue;
    const d = dist[i];
    if (d < cut) out[k++] = i;
    else if (d === cut && ties > 0) {
      out[k++] = i;
      ties--;
    }
  }
  return out;
}

/** Positions of the `count` largest values (any order). */
export function selectLargest(values: Float32Array, count: number): Int32Array {
  const n = values.length;
  if (count >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const sorted = Float32Array.from(values).sort();
  const threshold = sorted[n - count];
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < n && k < count; i++) if (values[i] > threshold) out[k++] = i;
  for (let i = 0; i < n && k < count; i++) if (values[i] === threshold) out[k++] = i;
  return out;
}
