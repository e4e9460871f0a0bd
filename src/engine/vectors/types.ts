// The vector index as the rest of the engine sees it: ids (content ids) with unit-norm vectors,
// searched by cosine. One implementation ships (two-stage.ts, chosen by bench `vectors`); the
// benchmark's contenders (usearch HNSW, sqlite-vec) implement the same interface.

export interface Neighbour {
  id: number;
  /** Cosine similarity with the query. */
  score: number;
}

export interface SearchRequest {
  k: number;
  /** Only these ids may be returned (search filters). */
  filter?: ReadonlySet<number>;
  /** These ids are never returned (e.g. the query image itself). */
  exclude?: ReadonlySet<number>;
  /** Exact search over every allowed id (checks, benchmarks, `--exact`). */
  exact?: boolean;
}

export interface SearchResult {
  /** Best first, at most k. */
  hits: Neighbour[];
  /** Exact scores of every candidate that was scored, best first (≥ hits): the head of the distribution. */
  head: number[];
  /** Which path answered (implementation-specific, for reports). */
  mode: string;
  /** Candidates that reached exact scoring. */
  rescored: number;
}

export interface VectorRows {
  ids: Int32Array;
  /** Row-major, `dim` floats per id. */
  data: Float32Array;
}

/** Where an index's vectors come from (the library's embeddings of one model, or a test array). */
export interface VectorSource {
  readonly dim: number;
  /** Every id the index should hold. */
  ids(): ReadonlySet<number>;
  /** The vectors of `ids`, in batches of any size and order. */
  read(ids: ReadonlySet<number>): Iterable<VectorRows>;
}

export interface SyncReport {
  added: number;
  removed: number;
  /** The index re-derived every stored entry (e.g. its quantizer was re-fitted). */
  rebuilt: boolean;
  total: number;
  ms: number;
}

export interface VectorIndex {
  readonly dim: number;
  readonly size: number;
  has(id: number): boolean;
  /** Every id held, in the index's own order. */
  ids(): Int32Array;
  /** Adds (or replaces) entries; `vectors` is row-major, one row per id. */
  add(ids: ArrayLike<number>, vectors: Float32Array): void;
  remove(ids: Iterable<number>): void;
  /** Adds what `source` has and the index lacks, removes what it no longer has. */
  sync(source: VectorSource): SyncReport;
  search(query: Float32Array, request: SearchRequest): SearchResult;
}
