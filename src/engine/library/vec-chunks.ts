import type { Database } from 'better-sqlite3';

// Reading a whole vec0 table through its virtual-table cursor costs ~17 µs a row (100k × 512 floats:
// ~1.7 s), far too slow for re-sorting. sqlite-vec 0.1.x stores vectors in shadow tables instead —
// `<t>_chunks` (per chunk: slot count, a validity bitmap and the int64 rowid of each slot) and
// `<t>_vector_chunks00` (per chunk: one blob of slots × dim float32) — and reading those blobs
// directly moves the same 100k vectors in ~0.2 s. The layout is sqlite-vec's, not ours, so every
// reader here checks it first and the caller falls back to the virtual table when it does not match.

export interface VectorRows {
  ids: Int32Array;
  data: Float32Array;
}

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

function rowCount(db: Database, table: string): number {
  return db.prepare(`SELECT count(*) FROM "${table}_rowids"`).pluck().get() as number;
}

function isValid(validity: Buffer, slot: number): boolean {
  return (validity[slot >> 3] & (1 << (slot & 7))) !== 0;
}

type ChunkMeta = [size: number, validity: Buffer, rowids: Buffer];

/** A typed view over a blob, copying only when the blob's offset is not aligned for the type. */
function view<T extends Float32Array | BigInt64Array>(blob: Buffer, Type: { new (b: ArrayBuffer, o: number, l: number): T; BYTES_PER_ELEMENT: number }, length: number): T {
  if (blob.byteOffset % Type.BYTES_PER_ELEMENT === 0) return new Type(blob.buffer as ArrayBuffer, blob.byteOffset, length);
  const copy = new ArrayBuffer(length * Type.BYTES_PER_ELEMENT);
  new Uint8Array(copy).set(blob.subarray(0, copy.byteLength));
  return new Type(copy, 0, length);
}

/**
 * Every vector (or, with `want`, those whose rowid is a key of `want`, written at row `want.get(id)`).
 * Returns undefined when the shadow tables disagree with what this reader expects.
 */
export function readChunkVectors(db: Database, table: string, dim: number, want?: Map<number, number>): VectorRows | undefined {
  const total = want ? want.size : rowCount(db, table);
  const ids = new Int32Array(total);
  const data = new Float32Array(total * dim);
  const found = want ? new Uint8Array(total) : undefined;
  let n = 0;
  // Two plain scans instead of a join: joining (or ordering) makes SQLite copy every 2 MB vector
  // blob into a temporary b-tree, which is five times slower than streaming them in table order.
  const chunks = new Map<number, ChunkMeta>();
  for (const [id, size, validity, rowids] of db.prepare(`SELECT chunk_id, size, validity, rowids FROM "${table}_chunks"`).raw().iterate() as IterableIterator<[number, ...ChunkMeta]>) {
    chunks.set(id, [size, validity, rowids]);
  }
  const rows = db.prepare(`SELECT rowid, vectors FROM "${table}_vector_chunks00"`).raw().iterate() as IterableIterator<[number, Buffer]>;
  for (const [chunkId, vectors] of rows) {
    const meta = chunks.get(chunkId);
    if (!meta) return undefined;
    const [size, validity, rowidBlob] = meta;
    if (rowidBlob.length < size * 8 || vectors.length < size * dim * 4 || validity.length * 8 < size) return undefined;
    const rowids = view(rowidBlob, BigInt64Array, size);
    const vecs = view(vectors, Float32Array, size * dim);
    if (want) {
      for (let slot = 0; slot < size; slot++) {
        if (!isValid(validity, slot)) continue;
        const id = Number(rowids[slot]);
        const row = want.get(id);
        if (row === undefined) continue;
        ids[row] = id;
        found![row] = 1;
        n++;
        data.set(vecs.subarray(slot * dim, (slot + 1) * dim), row * dim);
      }
      continue;
    }
    // Runs of consecutive valid slots (normally the whole chunk) are copied with one set().
    let slot = 0;
    while (slot < size) {
      if (!isValid(validity, slot)) {
        slot++;
        continue;
      }
      let end = slot + 1;
      while (end < size && isValid(validity, end)) end++;
      if (n + (end - slot) > total) return undefined;
      for (let k = slot; k < end; k++) ids[n + k - slot] = Number(rowids[k]);
      data.set(vecs.subarray(slot * dim, end * dim), n * dim);
      n += end - slot;
      slot = end;
    }
  }
  if (!want) return n === total ? { ids, data } : undefined;
  if (n === total) return { ids, data };
  return compact(ids, data, found!, dim, n);
}

function compact(ids: Int32Array, data: Float32Array, found: Uint8Array, dim: number, n: number): VectorRows {
  const outIds = new Int32Array(n);
  const outData = new Float32Array(n * dim);
  let k = 0;
  for (let i = 0; i < found.length; i++) {
    if (!found[i]) continue;
    outIds[k] = ids[i];
    outData.set(data.subarray(i * dim, (i + 1) * dim), k * dim);
    k++;
  }
  return { ids: outIds, data: outData };
}

/** Rowids present in the vec0 table, read from its rowid map rather than through the vector cursor. */
export function chunkRowids(db: Database, table: string): number[] {
  return db.prepare(`SELECT rowid FROM "${table}_rowids"`).pluck().all() as number[];
}
