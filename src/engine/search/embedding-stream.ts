// Reads many embeddings of a model in one pass without holding them all.
//
// `Library.loadEmbeddings` returns one matrix, which at a million 512-d embeddings is 2 GB; and asking
// for them a slice at a time would stream every vec0 chunk once per slice. Building search codes
// needs each embedding once, in any order, so this walks sqlite-vec's chunk blobs once and yields the
// wanted rows chunk by chunk. The shadow-table layout is sqlite-vec's; `hasChunkLayout` (the library's
// check) guards it, and without it the vec0 cursor is used.

import type { Library } from '../library/library.js';
import { hasChunkLayout } from '../library/vec-chunks.js';

export interface EmbeddingBatch {
  ids: Int32Array;
  /** Row-major, `dim` floats per id. */
  data: Float32Array;
}

/** Below this share of the table, point lookups beat a full pass. */
const POINT_LOOKUP_SHARE = 1 / 64;
const BATCH = 8192;

type ChunkRow = [size: number, validity: Buffer, rowids: Buffer, vectors: Buffer];

export function* streamEmbeddings(library: Library, key: string, wanted: ReadonlySet<number>, total: number): Generator<EmbeddingBatch> {
  if (wanted.size === 0) return;
  const table = library.embeddingTable(key);
  const dim = library.db.prepare('SELECT dim FROM models WHERE key = ?').pluck().get(key) as number;
  if (wanted.size <= total * POINT_LOOKUP_SHARE) {
    const ids = [...wanted];
    for (let i = 0; i < ids.length; i += BATCH) {
      const m = library.loadEmbeddings(key, ids.slice(i, i + BATCH));
      yield { ids: m.contentIds, data: m.data };
    }
    return;
  }
  const batch = new Batcher(dim);
  if (hasChunkLayout(library.db, table)) {
    // One statement per chunk rather than one open iterator: the caller writes between batches, and
    // better-sqlite3 refuses writes while a query on the same connection is still being iterated.
    const chunkIds = library.db.prepare(`SELECT chunk_id FROM "${table}_chunks" ORDER BY chunk_id`).pluck().all() as number[];
    const readChunk = library.db
      .prepare(`SELECT c.size, c.validity, c.rowids, v.vectors FROM "${table}_chunks" c JOIN "${table}_vector_chunks00" v ON v.rowid = c.chunk_id WHERE c.chunk_id = ?`)
      .raw();
    for (const chunkId of chunkIds) {
      const row = readChunk.get(chunkId) as ChunkRow | undefined;
      if (!row) continue;
      const [size, validity, rowids, vectors] = row;
      if (rowids.length < size * 8 || vectors.length < size * dim * 4 || validity.length * 8 < size) {
        throw new Error(`unexpected sqlite-vec chunk layout in ${table}`);
      }
      const floats = vectors.byteOffset % 4 === 0 ? new Float32Array(vectors.buffer, vectors.byteOffset, size * dim) : new Float32Array(Uint8Array.from(vectors.subarray(0, size * dim * 4)).buffer);
      for (let slot = 0; slot < size; slot++) {
        if ((validity[slot >> 3] & (1 << (slot & 7))) === 0) continue;
        const id = Number(rowids.readBigInt64LE(slot * 8));
        if (!wanted.has(id)) continue;
        const full = batch.push(id, floats, slot * dim);
        if (full) yield full;
      }
    }
  } else {
    // Unknown layout: rowids first (cheap), then the wanted vectors through the vec0 cursor a batch at a time.
    const ids = (library.db.prepare(`SELECT rowid FROM ${table}`).pluck().all() as number[]).filter((id) => wanted.has(id));
    for (let i = 0; i < ids.length; i += BATCH) {
      const m = library.loadEmbeddings(key, ids.slice(i, i + BATCH));
      yield { ids: m.contentIds, data: m.data };
    }
  }
  const rest = batch.flush();
  if (rest) yield rest;
}

class Batcher {
  private ids = new Int32Array(BATCH);
  private data: Float32Array;
  private n = 0;

  constructor(private readonly dim: number) {
    this.data = new Float32Array(BATCH * dim);
  }

  push(id: number, source: Float32Array, offset: number): EmbeddingBatch | undefined {
    this.ids[this.n] = id;
    this.data.set(source.subarray(offset, offset + this.dim), this.n * this.dim);
    this.n++;
    return this.n === BATCH ? this.flush() : undefined;
  }

  flush(): EmbeddingBatch | undefined {
    if (this.n === 0) return undefined;
    const out = { ids: this.ids.slice(0, this.n), data: this.data.slice(0, this.n * this.dim) };
    this.n = 0;
    return out;
  }
}
