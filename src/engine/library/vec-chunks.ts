import type { Database } from 'better-sqlite3';
import type { VectorRows } from '../vectors/types.js';

// The one place that reads sqlite-vec's shadow tables: libraries before schema v2 kept float32
// embeddings in vec0 tables (`emb_<model id>`), and migration 2 converts them. Reading a vec0 table
// through its virtual-table cursor costs ~17 µs a row (a million rows: ~17 s); sqlite-vec 0.1.x
// stores vectors in shadow tables — `<t>_chunks` (per chunk: slot count, a validity bitmap and the
// int64 rowid of each slot) and `<t>_vector_chunks00` (per chunk: one blob of slots × dim float32) —
// and reading those blobs directly is ~10× faster. The layout is sqlite-vec's, not ours, so it is
// checked first and the caller falls back to the cursor when it does not match.

interface ColumnInfo {
  name: string;
}

function columns(db: Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info("${table}")`).all() as ColumnInfo[]).map((c) => c.name);
}

/** True when `table` (a vec0 table with one float column) has the shadow tables this module reads. */
export function hasChunkLayout(db: Database, table: string): boolean {
  const chunks = columns(db, `${table}_chunks`);
  const vectors = columns(db, `${table}_vector_chunks00`);
  const rowids = columns(db, `${table}_rowids`);
  return (
    ['chunk_id', 'size', 'validity', 'rowids'].every((c) => chunks.includes(c)) &&
    ['rowid', 'vectors'].every((c) => vectors.includes(c)) &&
    ['rowid', 'chunk_id', 'chunk_offset'].every((c) => rowids.includes(c))
  );
}

function isValid(validity: Buffer, slot: number): boolean {
  return (validity[slot >> 3] & (1 << (slot & 7))) !== 0;
}

/** A copy of the first `length` values of a blob as the given type (blob offsets need not be aligned). */
function copyAs<T extends Float32Array | BigInt64Array>(blob: Buffer, Type: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  const copy = new ArrayBuffer(length * Type.BYTES_PER_ELEMENT);
  new Uint8Array(copy).set(blob.subarray(0, copy.byteLength));
  return new Type(copy);
}

/**
 * Every vector of the vec0 table, one chunk at a time. Throws when a chunk disagrees with the layout
 * (the caller checked `hasChunkLayout` first, so that means a damaged table).
 */
export function* readVecChunks(db: Database, table: string, dim: number): Generator<VectorRows> {
  const chunkIds = db.prepare(`SELECT chunk_id FROM "${table}_chunks" ORDER BY chunk_id`).pluck().all() as number[];
  const read = db.prepare(`SELECT c.size, c.validity, c.rowids, v.vectors FROM "${table}_chunks" c JOIN "${table}_vector_chunks00" v ON v.rowid = c.chunk_id WHERE c.chunk_id = ?`).raw();
  for (const chunkId of chunkIds) {
    const row = read.get(chunkId) as [number, Buffer, Buffer, Buffer] | undefined;
    if (!row) continue;
    const [size, validity, rowidBlob, vectors] = row;
    if (rowidBlob.length < size * 8 || vectors.length < size * dim * 4 || validity.length * 8 < size) {
      throw new Error(`unexpected sqlite-vec chunk layout in ${table}`);
    }
    const rowids = copyAs(rowidBlob, BigInt64Array, size);
    const vecs = copyAs(vectors, Float32Array, size * dim);
    const ids: number[] = [];
    const data = new Float32Array(size * dim);
    for (let slot = 0; slot < size; slot++) {
      if (!isValid(validity, slot)) continue;
      data.set(vecs.subarray(slot * dim, (slot + 1) * dim), ids.length * dim);
      ids.push(Number(rowids[slot]));
    }
    if (ids.length > 0) yield { ids: Int32Array.from(ids), data: data.subarray(0, ids.length * dim) };
  }
}
