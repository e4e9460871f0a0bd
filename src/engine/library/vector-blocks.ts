// Data derived from each model's embeddings and kept in the library so opening a search or a
// duplicate scan reads it instead of recomputing it (tables from migration 2):
//
//   vector_state    one row per model: code format and quantizer parameters, signature format, the
//                   embeddings change counter (models.embeddings_changed) the blocks were made from,
//                   and a generation bumped by every write (two processes persisting at once: the
//                   loser retries)
//   vector_blocks   per model and kind, up to a few thousand ids per row (ids blob + one fixed-width
//                   record per id): a million records load as ~250 blob reads instead of a million
//                   row reads. Kinds: 'signs' and 'mags' (the search index's sign and magnitude
//                   planes, same ids) and 'signatures' (random-hyperplane signatures for near-duplicates).
// Only indexing writes here (vectors/code-store.ts); searching and duplicate finding only read.

import type { Database } from 'better-sqlite3';

export type BlockKind = 'signs' | 'mags' | 'signatures';

export interface VectorState {
  codesVersion: number;
  signaturesVersion: number;
  /** Embeddings the quantizer was fitted on. */
  fittedOn: number;
  params: Buffer | null;
  /** `models.embeddings_changed` when the blocks were last brought in line (−1: unknown). */
  syncedChange: number;
  generation: number;
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
      .prepare('SELECT codes_version, signatures_version, fitted_on, params, synced_change, generation FROM vector_state WHERE model_id = ?')
      .raw()
      .get(modelId) as [number, number, number, Buffer | null, number, number] | undefined;
    return row && { codesVersion: row[0], signaturesVersion: row[1], fittedOn: row[2], params: row[3], syncedChange: row[4], generation: row[5] };
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
    const writer: BlockWriter = {
      put: (kind, block, ids, data) => put.run(modelId, kind, block, bytes(ids), bytes(data)),
      delete: (kind, block) => del.run(modelId, kind, block),
      clear: (kind) => clear.run(modelId, kind),
      setCodes: (version, fittedOn, params) => setCodes.run(version, fittedOn, params, modelId),
      setSignaturesVersion: (version) => setSignatures.run(version, modelId),
      setSyncedChange: (change) => setSynced.run(change, modelId),
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
            .prepare('INSERT INTO vector_state(model_id, codes_version, signatures_version, fitted_on, params, synced_change, generation, updated_at) VALUES (?, 0, 0, 0, NULL, -1, ?, ?)')
            .run(modelId, next, Date.now());
        }
        write(writer);
        return next;
      })
      .immediate();
  }
}
