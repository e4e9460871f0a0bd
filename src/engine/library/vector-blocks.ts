// Data derived from each model's embeddings and kept in the library so opening a search or a
// duplicate scan reads it instead of recomputing it (tables from migration 2):
//
//   vector_state    one row per model: code format and quantizer parameters, signature format, the
//                   embeddings change counter (models.embeddings_changed) the blocks were made from,
//                   and a generation bumped by every write (two processes persisting at once: the
//                   loser retries)
//   near_pairs      near-duplicate pairs (content ids a < b, cosine) at or above
//                   vector_state.pairs_threshold, complete among the contents listed as 'paired'
//   vector_blocks   per model and kind, up to a few thousand ids per row (ids blob + one fixed-width
//                   record per id): a million records load as ~250 blob reads instead of a million
//                   row reads. Kinds: 'signs' and 'mags' (the search index's sign and magnitude
//                   planes, same ids), 'signatures' (random-hyperplane signatures for near-duplicates)
//                   'paired' (no record: the contents `near_pairs` is complete for) and 'sample' (the
//                   16-bit embeddings of a fixed sample, the background a query's scores are read against).
// Only indexing writes here (vectors/code-store.ts); searching and duplicate finding only read.

import type { Database } from 'better-sqlite3';

export type BlockKind = 'signs' | 'mags' | 'signatures' | 'paired' | 'sample';

export interface VectorState {
  codesVersion: number;
  signaturesVersion: number;
  /** Embeddings the quantizer was fitted on. */
  fittedOn: number;
  params: Buffer | null;
  /** `models.embeddings_changed` when the blocks were last brought in line (−1: unknown). */
  syncedChange: number;
  /** Cosine down to which `near_pairs` holds every pair among the 'paired' contents (null: none stored). */
  pairsThreshold: number | null;
  generation: number;
}

/** Near pairs as parallel arrays (content ids a < b). */
export interface PairList {
  a: Int32Array;
  b: Int32Array;
  score: Float32Array;
}

export interface StoredBlock {
  block: number;
  ids: Int32Array;
  /** `recordBytes` per id, in `ids` order. */
  data: Uint8Array;
}

export interface BlockWriter {
  put(kind: BlockKind, block: number, ids: Int32Array, data: Uint8Array): void;
  delete(kind: BlockKind, block: number): void;
  clear(kind: BlockKind): void;
  setCodes(version: number, fittedOn: number, params: Buffer | null): void;
  setSignaturesVersion(version: number): void;
  setSyncedChange(change: number): void;
  putPairs(pairs: readonly { a: number; b: number; score: number }[]): void;
  /** Drops every pair that involves one of `ids`. */
  deletePairsOf(ids: Iterable<number>): void;
  /** Drops every pair and records the threshold of the complete set written next. */
  resetPairs(threshold: number | null): void;
}

/** Another connection wrote this model's blocks since they were read. */
export class ConcurrentChange extends Error {}

function int32View(blob: Buffer): Int32Array {
  if (blob.byteOffset % 4 === 0) return new Int32Array(blob.buffer, blob.byteOffset, blob.length >> 2);
  return new Int32Array(new Uint8Array(blob).buffer);
}

function bytes(v: Int32Array | Uint8Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export class VectorBlocks {
  constructor(private readonly db: Database) {}

  state(modelId: number): VectorState | undefined {
    const row = this.db
      .prepare('SELECT codes_version, signatures_version, fitted_on, params, synced_change, pairs_threshold, generation FROM vector_state WHERE model_id = ?')
      .raw()
      .get(modelId) as [number, number, number, Buffer | null, number, number | null, number] | undefined;
    return (
      row && { codesVersion: row[0], signaturesVersion: row[1], fittedOn: row[2], params: row[3], syncedChange: row[4], pairsThreshold: row[5], generation: row[6] }
    );
  }

  /** Stored near pairs scoring at least `minScore`. */
  pairs(modelId: number, minScore: number): PairList {
    const rows = this.db.prepare('SELECT a, b, score FROM near_pairs WHERE model_id = ? AND score >= ?').raw().all(modelId, minScore) as [number, number, number][];
    const out: PairList = { a: new Int32Array(rows.length), b: new Int32Array(rows.length), score: new Float32Array(rows.length) };
    rows.forEach(([a, b, score], i) => {
      out.a[i] = a;
      out.b[i] = b;
      out.score[i] = score;
    });
    return out;
  }

  /** The blocks of one kind in block order, or undefined when one is damaged (wrong sizes). */
  read(modelId: number, kind: BlockKind, recordBytes: number): StoredBlock[] | undefined {
    const rows = this.db.prepare('SELECT block, ids, data FROM vector_blocks WHERE model_id = ? AND kind = ? ORDER BY block').raw().all(modelId, kind) as [
      number,
      Buffer,
      Buffer,
    ][];
    const out: StoredBlock[] = [];
    for (const [block, ids, data] of rows) {
      if (ids.length % 4 !== 0 || data.length !== (ids.length / 4) * recordBytes) return undefined;
      out.push({ block, ids: int32View(ids), data: new Uint8Array(data.buffer, data.byteOffset, data.length) });
    }
    return out;
  }

  /**
   * Runs `write` in an IMMEDIATE transaction when the model's generation is still `expected`
   * (undefined: no state row yet), then bumps it. Returns the new generation.
   */
  commit(modelId: number, expected: number | undefined, write: (w: BlockWriter) => void): number {
    const put = this.db.prepare('INSERT OR REPLACE INTO vector_blocks(model_id, kind, block, ids, data) VALUES (?, ?, ?, ?, ?)');
    const del = this.db.prepare('DELETE FROM vector_blocks WHERE model_id = ? AND kind = ? AND block = ?');
    const clear = this.db.prepare('DELETE FROM vector_blocks WHERE model_id = ? AND kind = ?');
    const setCodes = this.db.prepare('UPDATE vector_state SET codes_version = ?, fitted_on = ?, params = ? WHERE model_id = ?');
    const setSignatures = this.db.prepare('UPDATE vector_state SET signatures_version = ? WHERE model_id = ?');
    const setSynced = this.db.prepare('UPDATE vector_state SET synced_change = ? WHERE model_id = ?');
    const putPair = this.db.prepare('INSERT OR REPLACE INTO near_pairs(model_id, a, b, score) VALUES (?, ?, ?, ?)');
    const delPairsA = this.db.prepare('DELETE FROM near_pairs WHERE model_id = ? AND a = ?');
    const delPairsB = this.db.prepare('DELETE FROM near_pairs WHERE model_id = ? AND b = ?');
    const clearPairs = this.db.prepare('DELETE FROM near_pairs WHERE model_id = ?');
    const setPairs = this.db.prepare('UPDATE vector_state SET pairs_threshold = ? WHERE model_id = ?');
    const writer: BlockWriter = {
      put: (kind, block, ids, data) => put.run(modelId, kind, block, bytes(ids), bytes(data)),
      delete: (kind, block) => del.run(modelId, kind, block),
      clear: (kind) => clear.run(modelId, kind),
      setCodes: (version, fittedOn, params) => setCodes.run(version, fittedOn, params, modelId),
      setSignaturesVersion: (version) => setSignatures.run(version, modelId),
      setSyncedChange: (change) => setSynced.run(change, modelId),
      putPairs: (pairs) => {
        for (const p of pairs) putPair.run(modelId, Math.min(p.a, p.b), Math.max(p.a, p.b), p.score);
      },
      deletePairsOf: (ids) => {
        for (const id of ids) {
          delPairsA.run(modelId, id);
          delPairsB.run(modelId, id);
        }
      },
      resetPairs: (threshold) => {
        clearPairs.run(modelId);
        setPairs.run(threshold, modelId);
      },
    };
    return this.db
      .transaction(() => {
        const current = this.state(modelId);
        if (current?.generation !== expected) throw new ConcurrentChange();
        const next = (expected ?? 0) + 1;
        if (current) {
          this.db.prepare('UPDATE vector_state SET generation = ?, updated_at = ? WHERE model_id = ?').run(next, Date.now(), modelId);
        } else {
          this.db
            .prepare(
              'INSERT INTO vector_state(model_id, codes_version, signatures_version, fitted_on, params, synced_change, pairs_threshold, generation, updated_at) VALUES (?, 0, 0, 0, NULL, -1, NULL, ?, ?)',
            )
            .run(modelId, next, Date.now());
        }
        write(writer);
        return next;
      })
      .immediate();
  }
}
