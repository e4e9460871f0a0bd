// The contenders bench `vectors` weighs against the shipped two-stage index, behind the same
// VectorIndex interface (src/engine/vectors/types.ts):
//   usearch     HNSW graph (npm `usearch` 2.25, prebuilt), f16 vectors, cosine. Its Node binding has no
//               filtered search (lib.cpp exposes add/search/remove/contains/count/save/load/view), so
//               a filter is served by over-fetching and dropping what the filter excludes.
//   sqlite-vec  the library's own extension alone: a vec0 float32 table and its brute-force KNN.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { Index, MetricKind, ScalarKind } from 'usearch';
import type { Neighbour, SearchRequest, SearchResult, SyncReport, VectorIndex, VectorSource } from '../src/engine/vectors/types.js';

export interface UsearchOptions {
  quantization: ScalarKind;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  /** Threads for adding (search always uses one, like the other contenders). */
  threads: number;
}

export const USEARCH_DEFAULTS: UsearchOptions = { quantization: ScalarKind.F16, connectivity: 16, expansionAdd: 128, expansionSearch: 64, threads: 2 };

function keys(ids: ArrayLike<number>): BigUint64Array {
  return BigUint64Array.from(Array.from(ids, (id) => BigInt(id)));
}

export class UsearchIndex implements VectorIndex {
  private readonly index: Index;
  private readonly held = new Set<number>();

  constructor(
    readonly dim: number,
    private readonly opts: UsearchOptions = USEARCH_DEFAULTS,
  ) {
    this.index = new Index({
      dimensions: dim,
      metric: MetricKind.Cos,
      quantization: opts.quantization,
      connectivity: opts.connectivity,
      expansion_add: opts.expansionAdd,
      expansion_search: opts.expansionSearch,
      multi: false,
    });
  }

  /** Loads a saved index into memory; `ids` are the keys it holds (usearch cannot list them). */
  static load(file: string, dim: number, ids: ArrayLike<number>, opts: UsearchOptions = USEARCH_DEFAULTS): UsearchIndex {
    const out = new UsearchIndex(dim, opts);
    out.index.load(file);
    for (let i = 0; i < ids.length; i++) out.held.add(ids[i]);
    return out;
  }

  save(file: string): void {
    this.index.save(file);
  }

  get size(): number {
    return this.index.size();
  }

  has(id: number): boolean {
    return this.held.has(id);
  }

  ids(): Int32Array {
    return Int32Array.from(this.held);
  }

  add(ids: ArrayLike<number>, vectors: Float32Array): void {
    const existing = Array.from(ids).filter((id) => this.held.has(id));
    if (existing.length) this.remove(existing);
    if (ids.length === 0) return;
    this.index.add(keys(ids), vectors, this.opts.threads);
    for (let i = 0; i < ids.length; i++) this.held.add(ids[i]);
  }

  remove(ids: Iterable<number>): void {
    const list = [...ids].filter((id) => this.held.has(id));
    if (list.length === 0) return;
    this.index.remove(keys(list));
    for (const id of list) this.held.delete(id);
  }

  sync(source: VectorSource): SyncReport {
    const started = performance.now();
    const want = source.ids();
    const removed = [...this.held].filter((id) => !want.has(id));
    const added = new Set([...want].filter((id) => !this.held.has(id)));
    this.remove(removed);
    for (const rows of source.read(added)) this.add(rows.ids, rows.data);
    return { added: added.size, removed: removed.length, rebuilt: false, total: this.size, ms: performance.now() - started };
  }

  search(query: Float32Array, request: SearchRequest): SearchResult {
    if (request.exact) throw new Error('the usearch contender has no exact mode');
    const { k, filter, exclude } = request;
    const size = this.size;
    if (size === 0 || k <= 0) return { hits: [], head: [], mode: 'empty', rescored: 0 };
    const share = filter ? Math.max(filter.size / size, 1 / size) : 1;
    // Over-fetch for the filter's share (with a margin), then widen until enough pass or all were asked.
    let fetch = Math.min(size, Math.ceil(((k + (exclude?.size ?? 0)) / share) * 1.5));
    for (;;) {
      const found = this.index.search(query, fetch, 1);
      const hits: Neighbour[] = [];
      for (let i = 0; i < found.keys.length; i++) {
        const id = Number(found.keys[i]);
        if (filter && !filter.has(id)) continue;
        if (exclude?.has(id)) continue;
        hits.push({ id, score: 1 - found.distances[i] });
      }
      if (hits.length >= k || fetch >= size) {
        return { hits: hits.slice(0, k), head: hits.map((h) => h.score), mode: filter ? `hnsw-overfetch-${fetch}` : 'hnsw', rescored: found.keys.length };
      }
      fetch = Math.min(size, fetch * 4);
    }
  }
}

export class SqliteVecIndex implements VectorIndex {
  private readonly db: Database.Database;

  constructor(
    readonly file: string,
    readonly dim: number,
  ) {
    this.db = new Database(file);
    sqliteVec.load(this.db);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS v USING vec0(embedding float[${dim}] distance_metric=cosine)`);
  }

  close(): void {
    this.db.close();
  }

  /** Bytes the vec0 table and its shadow tables take in the file. */
  bytes(): number {
    return this.db.prepare("SELECT sum(pgsize) FROM dbstat WHERE name = 'v' OR name LIKE 'v\\_%' ESCAPE '\\'").pluck().get() as number;
  }

  get size(): number {
    return this.db.prepare('SELECT count(*) FROM v_rowids').pluck().get() as number;
  }

  has(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM v_rowids WHERE rowid = ?').get(id) !== undefined;
  }

  ids(): Int32Array {
    return Int32Array.from(this.db.prepare('SELECT rowid FROM v_rowids').pluck().all() as number[]);
  }

  add(ids: ArrayLike<number>, vectors: Float32Array): void {
    const del = this.db.prepare('DELETE FROM v WHERE rowid = ?');
    // vec0 rejects rowids bound as REAL, and better-sqlite3 binds plain numbers as REAL: BigInt.
    const ins = this.db.prepare('INSERT INTO v(rowid, embedding) VALUES (?, ?)');
    this.db.transaction(() => {
      for (let i = 0; i < ids.length; i++) {
        del.run(BigInt(ids[i]));
        ins.run(BigInt(ids[i]), Buffer.from(vectors.buffer, vectors.byteOffset + i * this.dim * 4, this.dim * 4));
      }
    })();
  }

  remove(ids: Iterable<number>): void {
    const del = this.db.prepare('DELETE FROM v WHERE rowid = ?');
    this.db.transaction(() => {
      for (const id of ids) del.run(BigInt(id));
    })();
  }

  sync(source: VectorSource): SyncReport {
    const started = performance.now();
    const want = source.ids();
    const have = new Set(this.ids());
    const removed = [...have].filter((id) => !want.has(id));
    const added = new Set([...want].filter((id) => !have.has(id)));
    this.remove(removed);
    for (const rows of source.read(added)) this.add(rows.ids, rows.data);
    return { added: added.size, removed: removed.length, rebuilt: false, total: this.size, ms: performance.now() - started };
  }

  search(query: Float32Array, request: SearchRequest): SearchResult {
    const { k, filter, exclude } = request;
    const fetch = k + (exclude?.size ?? 0);
    const q = Buffer.from(query.buffer, query.byteOffset, query.byteLength);
    const rows = filter
      ? (this.db
          .prepare('SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = ? AND rowid IN (SELECT value FROM json_each(?))')
          .raw()
          .all(q, fetch, JSON.stringify([...filter])) as [number, number][])
      : (this.db.prepare('SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = ?').raw().all(q, fetch) as [number, number][]);
    const hits = rows.filter(([id]) => !exclude?.has(id)).map(([id, d]) => ({ id, score: 1 - d }));
    return { hits: hits.slice(0, k), head: hits.map((h) => h.score), mode: 'vec0-knn', rescored: rows.length };
  }
}

export function fileBytes(file: string): number {
  return fs.existsSync(file) ? fs.statSync(file).size : 0;
}
