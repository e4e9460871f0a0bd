// Embedding rows: one 16-bit copy of each content's embedding per model, in the `embeddings` table.
//
// Why 16-bit and only one copy: embeddings are L2-normalized, so every component lies in [-1, 1] and
// fixed point (value · 32767, see vectors/fixed16.ts) keeps each to within 1.5e-5. Measured (bench
// `vectors`, fixed16): cosines move by 7e-6 on average, 4.3e-5 at most; sorting 50,000 images into 10
// labels changed 2 labels, both within 2e-6 of a tie. Before schema v2 each embedding was stored three
// times (sqlite-vec float32, a 16-bit re-scoring copy, search codes); the float32 copy was never
// searched through, so v2 keeps this one.
//
// Rows live in a plain rowid table keyed (model_id, content_id): the primary-key index doubles as a
// compact list of what is embedded (ids and counts never touch the 1 KB vector rows), and a point
// read for re-scoring is one index seek and one row read.

import type { Database, Statement } from 'better-sqlite3';
import { decodeFixed16, encodeFixed16, fixed16View } from '../vectors/fixed16.js';
import type { VectorRows } from '../vectors/types.js';

/** Rows a batch of `stream` holds: 8192 × 512 floats is 16 MB. */
const STREAM_BATCH = 8192;
/** Below this share of a model's rows, point reads beat one pass over all of them. */
const POINT_READ_SHARE = 1 / 32;

export class EmbeddingRows {
  private readonly put: Statement;
  private readonly del: Statement;
  private readonly get: Statement;
  private readonly idList: Statement;
  private readonly count: Statement;
  private readonly scan: Statement;
  private readonly many: Statement;

  constructor(private readonly db: Database) {
    this.put = db.prepare('INSERT OR REPLACE INTO embeddings(model_id, content_id, vec) VALUES (?, ?, ?)');
    this.del = db.prepare('DELETE FROM embeddings WHERE model_id = ? AND content_id = ?');
    this.get = db.prepare('SELECT vec FROM embeddings WHERE model_id = ? AND content_id = ?').pluck();
    this.idList = db.prepare('SELECT content_id FROM embeddings WHERE model_id = ? ORDER BY content_id').pluck();
    this.count = db.prepare('SELECT count(*) FROM embeddings WHERE model_id = ?').pluck();
    this.scan = db.prepare('SELECT content_id, vec FROM embeddings WHERE model_id = ? AND content_id > ? ORDER BY content_id LIMIT ?').raw();
    this.many = db.prepare('SELECT content_id, vec FROM embeddings WHERE model_id = ? AND content_id IN (SELECT value FROM json_each(?))').raw();
  }

  /** Writes (or replaces) rows; the caller holds the transaction and has checked the width. */
  write(modelId: number, rows: readonly { contentId: number; vector: Float32Array }[]): void {
    for (const { contentId, vector } of rows) this.put.run(modelId, contentId, encodeFixed16(vector));
  }

  remove(modelId: number, contentIds: Iterable<number>): number {
    let n = 0;
    for (const id of contentIds) n += this.del.run(modelId, id).changes;
    return n;
  }

  /** The stored 16-bit vector (a view over the row's bytes), or undefined. */
  fixed(modelId: number, contentId: number, dim: number): Int16Array | undefined {
    const blob = this.get.get(modelId, contentId) as Buffer | undefined;
    return blob && blob.length === dim * 2 ? fixed16View(blob) : undefined;
  }

  /** The stored 16-bit vectors of `ids`, in that order (undefined where none): one query for all. */
  fixedMany(modelId: number, ids: readonly number[], dim: number): (Int16Array | undefined)[] {
    const found = new Map<number, Int16Array>();
    for (const [id, blob] of this.many.all(modelId, JSON.stringify(ids)) as [number, Buffer][]) {
      if (blob.length === dim * 2) found.set(id, fixed16View(blob));
    }
    return ids.map((id) => found.get(id));
  }

  ids(modelId: number): Int32Array {
    return Int32Array.from(this.idList.all(modelId) as number[]);
  }

  size(modelId: number): number {
    return this.count.get(modelId) as number;
  }

  /**
   * Decoded vectors of a model in content-id order, `batch` rows at a time, or only those of
   * `wanted`. Each batch is read by its own statement run (keyset paging), so callers may write to
   * the library between batches: better-sqlite3 refuses writes while a read is being iterated.
   */
  *stream(modelId: number, dim: number, wanted?: ReadonlySet<number>, batch = STREAM_BATCH): Generator<VectorRows> {
    if (wanted && wanted.size === 0) return;
    if (wanted && wanted.size < this.size(modelId) * POINT_READ_SHARE) {
      const ids = [...wanted].sort((a, b) => a - b);
      for (let i = 0; i < ids.length; i += batch) {
        const rows = this.lookup(modelId, dim, ids.slice(i, i + batch));
        if (rows.ids.length) yield rows;
      }
      return;
    }
    let after = -1;
    let ids = new Int32Array(batch);
    let data = new Float32Array(batch * dim);
    let n = 0;
    for (;;) {
      const page = this.scan.all(modelId, after, batch) as [number, Buffer][];
      for (const [id, blob] of page) {
        after = id;
        if (wanted && !wanted.has(id)) continue;
        if (blob.length !== dim * 2) continue;
        ids[n] = id;
        decodeFixed16(blob, data, n * dim);
        if (++n === batch) {
          yield { ids, data };
          ids = new Int32Array(batch);
          data = new Float32Array(batch * dim);
          n = 0;
        }
      }
      if (page.length < batch) break;
    }
    if (n > 0) yield { ids: ids.slice(0, n), data: data.slice(0, n * dim) };
  }

  /** Every stored vector of a model as 16-bit values, in content id order (n × dim × 2 bytes). */
  allFixed(modelId: number, dim: number): { ids: Int32Array; data: Int16Array } {
    const n = this.size(modelId);
    const ids = new Int32Array(n);
    const data = new Int16Array(n * dim);
    let at = 0;
    let after = -1;
    for (;;) {
      const page = this.scan.all(modelId, after, STREAM_BATCH) as [number, Buffer][];
      for (const [id, blob] of page) {
        after = id;
        if (blob.length !== dim * 2 || at >= n) continue;
        ids[at] = id;
        data.set(fixed16View(blob), at * dim);
        at++;
      }
      if (page.length < STREAM_BATCH) break;
    }
    return { ids: ids.subarray(0, at), data: data.subarray(0, at * dim) };
  }

  /** Decoded vectors of `ids` in that order; ids without a row are left out. */
  lookup(modelId: number, dim: number, ids: readonly number[]): VectorRows {
    const outIds: number[] = [];
    const data = new Float32Array(ids.length * dim);
    for (const id of ids) {
      const blob = this.get.get(modelId, id) as Buffer | undefined;
      if (!blob || blob.length !== dim * 2) continue;
      decodeFixed16(blob, data, outIds.length * dim);
      outIds.push(id);
    }
    return { ids: Int32Array.from(outIds), data: outIds.length === ids.length ? data : data.slice(0, outIds.length * dim) };
  }
}
