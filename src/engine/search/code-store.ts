// Persistence of the search codes inside the library file, kept in step with the embeddings.
//
// Tables, one set per model (models.id), created on first use:
//   search_quantizers       one row per model: code format, quantizer parameters, sync generation
//   search_blocks_<id>      the codes, up to BLOCK_CAPACITY contents per row (ids blob + codes blob):
//                           a million codes load as ~250 blob reads (~0.2 s) instead of a million row
//                           reads (~6 s measured with better-sqlite3)
//   search_vectors_<id>     one 16-bit fixed-point copy of each embedding, for exact re-scoring
// Invariant: every content id in a block has a row in search_vectors_<id> (vector rows are written
// first or in the same transaction).

import type { Database } from 'better-sqlite3';
import { TriagemError } from '../errors.js';
import type { Library } from '../library/library.js';
import { streamEmbeddings } from './embedding-stream.js';
import { decodeFixed16, encodeFixed16 } from './fixed16.js';
import {
  CODE_VERSION,
  LevelFit,
  QuantizerFit,
  deserializeParams,
  encodeRow,
  planeBytes,
  serializeParams,
  type QuantizerParams,
} from './quantizer.js';

export const BLOCK_CAPACITY = 4096;
/** The quantizer's mean and spread are estimated on at most this many embeddings (a random sample). */
const FIT_SAMPLE = 65536;
/** Re-fit (and re-encode every code) when the library has grown this many times since the last fit. */
const REFIT_GROWTH = 4;
const SYNC_ATTEMPTS = 3;

/** All codes of one model, as loaded into memory for scanning. */
export interface CodeSnapshot {
  modelId: number;
  key: string;
  dim: number;
  /** undefined while the model has no embeddings at all. */
  params: QuantizerParams | undefined;
  /** Slot → content id. */
  ids: Int32Array;
  /** Slot-major sign planes, `planeBytes(dim)` bytes each. */
  signs: Uint8Array;
  /** Slot-major magnitude planes. */
  mags: Uint8Array;
  /** Name of the re-scoring table. */
  vectorsTable: string;
}

export interface SyncReport {
  added: number;
  removed: number;
  refit: boolean;
  total: number;
  ms: number;
}

interface QuantizerRow {
  version: number;
  dim: number;
  fitted_on: number;
  generation: number;
  params: Buffer | null;
}

interface Tables {
  blocks: string;
  vectors: string;
}

class ConcurrentSync extends Error {}

function tablesFor(modelId: number): Tables {
  return { blocks: `search_blocks_${modelId}`, vectors: `search_vectors_${modelId}` };
}

function ensureTables(db: Database, t: Tables): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS search_quantizers (
      model_id INTEGER PRIMARY KEY,
      version INTEGER NOT NULL,
      dim INTEGER NOT NULL,
      fitted_on INTEGER NOT NULL,
      generation INTEGER NOT NULL,
      params BLOB,
      updated_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${t.blocks} (block INTEGER PRIMARY KEY, ids BLOB NOT NULL, codes BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS ${t.vectors} (content_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
  `);
}

function modelRow(library: Library, key: string): { id: number; dim: number } {
  const row = library.db.prepare('SELECT id, dim FROM models WHERE key = ?').get(key) as { id: number; dim: number } | undefined;
  if (!row) {
    throw new TriagemError(`no embeddings for model ${key} in this library; run \`triagem index\` with that model first`, 'unknown-model', library.file);
  }
  return row;
}

/** Blocks as loaded: flat arrays in block order, plus where each block starts. */
interface LoadedBlocks {
  ids: Int32Array;
  codes: Uint8Array; // slot-major [sign plane | magnitude plane]
  blockIds: number[];
  blockStart: number[]; // slot where each block begins; blockStart[blockIds.length] = total
}

function int32View(blob: Buffer): Int32Array {
  if (blob.byteOffset % 4 === 0) return new Int32Array(blob.buffer, blob.byteOffset, blob.length >> 2);
  return new Int32Array(Uint8Array.from(blob).buffer);
}

function loadBlocks(db: Database, t: Tables, codeBytes: number): LoadedBlocks | undefined {
  const rows = db.prepare(`SELECT block, ids, codes FROM ${t.blocks} ORDER BY block`).raw().all() as [number, Buffer, Buffer][];
  let total = 0;
  for (const [, ids, codes] of rows) {
    if (ids.length % 4 !== 0 || codes.length !== (ids.length / 4) * codeBytes) return undefined;
    total += ids.length / 4;
  }
  const out: LoadedBlocks = { ids: new Int32Array(total), codes: new Uint8Array(total * codeBytes), blockIds: [], blockStart: [] };
  let slot = 0;
  for (const [block, ids, codes] of rows) {
    out.blockIds.push(block);
    out.blockStart.push(slot);
    out.ids.set(int32View(ids), slot);
    out.codes.set(codes, slot * codeBytes);
    slot += ids.length / 4;
  }
  out.blockStart.push(slot);
  return out;
}

function randomSample(ids: readonly number[], n: number): number[] {
  if (ids.length <= n) return [...ids];
  const copy = [...ids];
  // Partial Fisher–Yates: the first n entries become a uniform sample.
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}


class Syncer {
  private readonly db: Database;
  private readonly t: Tables;
  private readonly plane: number;
  private readonly codeBytes: number;
  private generation = 0;
  private rowExists = false;
  private embeddedCount = 0;

  constructor(
    private readonly library: Library,
    private readonly key: string,
    private readonly modelId: number,
    private readonly dim: number,
  ) {
    this.db = library.db;
    this.t = tablesFor(modelId);
    this.plane = planeBytes(dim);
    this.codeBytes = 2 * this.plane;
  }

  private readRow(): QuantizerRow | undefined {
    return this.db
      .prepare('SELECT version, dim, fitted_on, generation, params FROM search_quantizers WHERE model_id = ?')
      .get(this.modelId) as QuantizerRow | undefined;
  }

  /** Runs `fn` in an IMMEDIATE transaction, failing when another process synced since we loaded. */
  private write(fn: () => void): void {
    let pending: number | undefined;
    this.db
      .transaction(() => {
        const row = this.readRow();
        if ((row?.generation ?? 0) !== this.generation || (row !== undefined) !== this.rowExists) throw new ConcurrentSync();
        const next = this.generation + 1;
        if (this.rowExists) {
          this.db.prepare('UPDATE search_quantizers SET generation = ?, updated_at = ? WHERE model_id = ?').run(next, Date.now(), this.modelId);
        } else {
          this.db
            .prepare('INSERT INTO search_quantizers(model_id, version, dim, fitted_on, generation, params, updated_at) VALUES (?, ?, ?, 0, ?, NULL, ?)')
            .run(this.modelId, CODE_VERSION, this.dim, next, Date.now());
        }
        fn();
        // Only after the commit below succeeds do these describe the database.
        pending = next;
      })
      .immediate();
    if (pending !== undefined) {
      this.generation = pending;
      this.rowExists = true;
    }
  }

  run(): { snapshot: CodeSnapshot; report: SyncReport } {
    const started = performance.now();
    ensureTables(this.db, this.t);
    const row = this.readRow();
    this.generation = row?.generation ?? 0;
    this.rowExists = row !== undefined;
    let params = row?.params && row.version === CODE_VERSION && row.dim === this.dim ? deserializeParams(row.params, this.dim) : undefined;
    let blocks = params ? loadBlocks(this.db, this.t, this.codeBytes) : undefined;
    if (!params || !blocks) {
      // Unknown format, other dimension or damaged blocks: start over (the vectors table is kept only
      // if its rows still have this dimension, which `rebuild` re-checks row by row).
      params = undefined;
      blocks = { ids: new Int32Array(0), codes: new Uint8Array(0), blockIds: [], blockStart: [0] };
    }
    const embedded = this.library.embeddedContentIds(this.key);
    this.embeddedCount = embedded.size;
    const have = new Set<number>(blocks.ids);
    const added: number[] = [];
    for (const id of embedded) if (!have.has(id)) added.push(id);
    added.sort((a, b) => a - b);
    const removed = new Set<number>();
    for (const id of blocks.ids) if (!embedded.has(id)) removed.add(id);

    const total = embedded.size;
    const fittedOn = row?.fitted_on ?? 0;
    const refit = total > 0 && (!params || (fittedOn < FIT_SAMPLE && total >= REFIT_GROWTH * fittedOn));
    const unchanged = added.length === 0 && removed.size === 0 && !refit;
    if (!unchanged) {
      if (refit) {
        this.writeVectors(added);
        params = this.rebuild(embedded);
      } else if (params) {
        blocks = this.removeCodes(blocks, removed);
        blocks = this.appendCodes(blocks, added, params);
      } else {
        // Nothing embedded: drop whatever codes are left.
        blocks = this.removeCodes(blocks, removed);
      }
    }
    const finalBlocks = refit ? loadBlocks(this.db, this.t, this.codeBytes) : blocks;
    if (!finalBlocks) throw new TriagemError('search codes could not be read back after writing them', 'search-codes', this.library.file);
    const snapshot = this.snapshot(finalBlocks, total > 0 ? params : undefined);
    return {
      snapshot,
      report: { added: added.length, removed: removed.size, refit, total, ms: performance.now() - started },
    };
  }

  private snapshot(blocks: LoadedBlocks, params: QuantizerParams | undefined): CodeSnapshot {
    const n = blocks.ids.length;
    const signs = new Uint8Array(n * this.plane);
    const mags = new Uint8Array(n * this.plane);
    for (let s = 0; s < n; s++) {
      const o = s * this.codeBytes;
      signs.set(blocks.codes.subarray(o, o + this.plane), s * this.plane);
      mags.set(blocks.codes.subarray(o + this.plane, o + this.codeBytes), s * this.plane);
    }
    return { modelId: this.modelId, key: this.key, dim: this.dim, params, ids: blocks.ids, signs, mags, vectorsTable: this.t.vectors };
  }

  /** Copies new embeddings into the vectors table (idempotent: a rerun after a crash rewrites the same rows). */
  private writeVectors(ids: readonly number[]): void {
    const put = this.db.prepare(`INSERT OR REPLACE INTO ${this.t.vectors}(content_id, vec) VALUES (?, ?)`);
    for (const batch of streamEmbeddings(this.library, this.key, new Set(ids), this.embeddedCount)) {
      this.write(() => {
        for (let r = 0; r < batch.ids.length; r++) put.run(batch.ids[r], encodeFixed16(batch.data, r * this.dim, this.dim));
      });
    }
  }

  /** Estimates the quantizer on a sample, then re-encodes every content from the vectors table. */
  private rebuild(embedded: Set<number>): QuantizerParams {
    const all = [...embedded];
    const sample = randomSample(all, FIT_SAMPLE);
    const get = this.db.prepare(`SELECT vec FROM ${this.t.vectors} WHERE content_id = ?`).pluck();
    const fit = new QuantizerFit(this.dim);
    const row = new Float32Array(this.dim);
    const kept: Buffer[] = [];
    for (const id of sample) {
      const blob = get.get(id) as Buffer | undefined;
      if (!blob || blob.length !== this.dim * 2) continue;
      decodeFixed16(blob, row);
      fit.addMoments(row, 1);
      kept.push(blob);
    }
    const { mean, split, sd } = fit.moments();
    const levels = new LevelFit(mean, split, sd);
    for (const blob of kept) levels.add(decodeFixed16(blob, row), 1);
    const params = levels.params();

    // One pass over the vectors table: encode each content.
    const ids: number[] = [];
    const codes: Uint8Array[] = [];
    const stale: number[] = [];
    let current = new Uint8Array(BLOCK_CAPACITY * this.codeBytes);
    let inCurrent = 0;
    for (const [id, blob] of this.db.prepare(`SELECT content_id, vec FROM ${this.t.vectors} ORDER BY content_id`).raw().iterate() as IterableIterator<[number, Buffer]>) {
      if (!embedded.has(id) || blob.length !== this.dim * 2) {
        stale.push(id);
        continue;
      }
      decodeFixed16(blob, row);
      encodeRow(params, row, 0, current, inCurrent * this.codeBytes);
      ids.push(id);
      inCurrent++;
      if (inCurrent === BLOCK_CAPACITY) {
        codes.push(current);
        current = new Uint8Array(BLOCK_CAPACITY * this.codeBytes);
        inCurrent = 0;
      }
    }
    if (inCurrent > 0) codes.push(current.slice(0, inCurrent * this.codeBytes));
    const missing = all.length - ids.length;
    if (missing > 0) throw new TriagemError(`${missing} embeddings have no re-scoring copy after writing them`, 'search-codes', this.library.file);

    this.write(() => {
      const del = this.db.prepare(`DELETE FROM ${this.t.vectors} WHERE content_id = ?`);
      for (const id of stale) del.run(id);
      this.db.exec(`DELETE FROM ${this.t.blocks}`);
      const put = this.db.prepare(`INSERT INTO ${this.t.blocks}(block, ids, codes) VALUES (?, ?, ?)`);
      codes.forEach((blockCodes, b) => {
        const blockIds = Int32Array.from(ids.slice(b * BLOCK_CAPACITY, (b + 1) * BLOCK_CAPACITY));
        put.run(b + 1, Buffer.from(blockIds.buffer), Buffer.from(blockCodes.buffer, blockCodes.byteOffset, blockCodes.byteLength));
      });
      this.db
        .prepare('UPDATE search_quantizers SET version = ?, dim = ?, fitted_on = ?, params = ? WHERE model_id = ?')
        .run(CODE_VERSION, this.dim, all.length, serializeParams(params), this.modelId);
    });
    return params;
  }

  private removeCodes(blocks: LoadedBlocks, removed: Set<number>): LoadedBlocks {
    if (removed.size === 0) return blocks;
    const changed: { block: number; ids: number[]; codes: Uint8Array }[] = [];
    for (let b = 0; b < blocks.blockIds.length; b++) {
      const start = blocks.blockStart[b];
      const end = blocks.blockStart[b + 1];
      let hit = false;
      for (let s = start; s < end && !hit; s++) hit = removed.has(blocks.ids[s]);
      if (!hit) continue;
      const keep: number[] = [];
      for (let s = start; s < end; s++) if (!removed.has(blocks.ids[s])) keep.push(s);
      const codes = new Uint8Array(keep.length * this.codeBytes);
      keep.forEach((s, i) => codes.set(blocks.codes.subarray(s * this.codeBytes, (s + 1) * this.codeBytes), i * this.codeBytes));
      changed.push({ block: blocks.blockIds[b], ids: keep.map((s) => blocks.ids[s]), codes });
    }
    this.write(() => {
      const delVec = this.db.prepare(`DELETE FROM ${this.t.vectors} WHERE content_id = ?`);
      for (const id of removed) delVec.run(id);
      const delBlock = this.db.prepare(`DELETE FROM ${this.t.blocks} WHERE block = ?`);
      const putBlock = this.db.prepare(`UPDATE ${this.t.blocks} SET ids = ?, codes = ? WHERE block = ?`);
      for (const c of changed) {
        if (c.ids.length === 0) delBlock.run(c.block);
        else putBlock.run(Buffer.from(Int32Array.from(c.ids).buffer), Buffer.from(c.codes.buffer), c.block);
      }
    });
    return this.compact(blocks, removed);
  }

  /** The in-memory blocks without `removed` (block boundaries recomputed). */
  private compact(blocks: LoadedBlocks, removed: Set<number>): LoadedBlocks {
    const ids: number[] = [];
    const blockIds: number[] = [];
    const blockStart: number[] = [];
    const codes = new Uint8Array((blocks.ids.length - removed.size) * this.codeBytes);
    for (let b = 0; b < blocks.blockIds.length; b++) {
      const startLen = ids.length;
      for (let s = blocks.blockStart[b]; s < blocks.blockStart[b + 1]; s++) {
        if (removed.has(blocks.ids[s])) continue;
        codes.set(blocks.codes.subarray(s * this.codeBytes, (s + 1) * this.codeBytes), ids.length * this.codeBytes);
        ids.push(blocks.ids[s]);
      }
      if (ids.length > startLen) {
        blockIds.push(blocks.blockIds[b]);
        blockStart.push(startLen);
      }
    }
    blockStart.push(ids.length);
    return { ids: Int32Array.from(ids), codes, blockIds, blockStart };
  }

  /** Encodes `added` with the current quantizer: fills the last block, then opens new ones. */
  private appendCodes(blocks: LoadedBlocks, added: readonly number[], params: QuantizerParams): LoadedBlocks {
    if (added.length === 0) return blocks;
    let allIds = Array.from(blocks.ids);
    const parts: Uint8Array[] = [blocks.codes];
    const blockIds = [...blocks.blockIds];
    const blockStart = blocks.blockStart.slice(0, -1);
    // The last block, as it stands on disk (it is rewritten as it fills).
    let lastBlock = blockIds.length > 0 ? blockIds[blockIds.length - 1] : 0;
    let lastStart = blockIds.length > 0 ? blockStart[blockStart.length - 1] : 0;
    let lastIds = allIds.slice(lastStart);
    let lastCodes = blocks.codes.slice(lastStart * this.codeBytes);
    const startBlock = () => {
      lastBlock++;
      lastStart = allIds.length;
      lastIds = [];
      lastCodes = new Uint8Array(0);
      blockIds.push(lastBlock);
      blockStart.push(lastStart);
    };
    if (blockIds.length === 0 || lastIds.length >= BLOCK_CAPACITY) startBlock();
    const putVec = this.db.prepare(`INSERT OR REPLACE INTO ${this.t.vectors}(content_id, vec) VALUES (?, ?)`);
    const putBlock = this.db.prepare(`INSERT OR REPLACE INTO ${this.t.blocks}(block, ids, codes) VALUES (?, ?, ?)`);
    for (const batch of streamEmbeddings(this.library, this.key, new Set(added), this.embeddedCount)) {
      const n = batch.ids.length;
      const codes = new Uint8Array(n * this.codeBytes);
      for (let r = 0; r < n; r++) encodeRow(params, batch.data, r, codes, r * this.codeBytes);
      const writes: { block: number; ids: number[]; codes: Uint8Array }[] = [];
      let r = 0;
      while (r < n) {
        if (lastIds.length >= BLOCK_CAPACITY) startBlock();
        const take = Math.min(BLOCK_CAPACITY - lastIds.length, n - r);
        const merged = new Uint8Array((lastIds.length + take) * this.codeBytes);
        merged.set(lastCodes);
        merged.set(codes.subarray(r * this.codeBytes, (r + take) * this.codeBytes), lastCodes.length);
        lastCodes = merged;
        for (let i = 0; i < take; i++) {
          lastIds.push(batch.ids[r + i]);
          allIds.push(batch.ids[r + i]);
        }
        parts.push(codes.subarray(r * this.codeBytes, (r + take) * this.codeBytes));
        const existing = writes.find((w) => w.block === lastBlock);
        if (existing) {
          existing.ids = [...lastIds];
          existing.codes = lastCodes;
        } else {
          writes.push({ block: lastBlock, ids: [...lastIds], codes: lastCodes });
        }
        r += take;
      }
      this.write(() => {
        for (let i = 0; i < n; i++) putVec.run(batch.ids[i], encodeFixed16(batch.data, i * this.dim, this.dim));
        for (const w of writes) putBlock.run(w.block, Buffer.from(Int32Array.from(w.ids).buffer), Buffer.from(w.codes.buffer, w.codes.byteOffset, w.codes.byteLength));
      });
    }
    const total = allIds.length;
    const codes = new Uint8Array(total * this.codeBytes);
    let o = 0;
    for (const p of parts) {
      codes.set(p, o);
      o += p.length;
    }
    allIds = allIds.slice(0, total);
    return { ids: Int32Array.from(allIds), codes, blockIds, blockStart: [...blockStart, total] };
  }
}

/**
 * Brings the model's codes in line with its embeddings (adds codes for new contents, drops those of
 * deleted ones, re-fits the quantizer when the library has grown a lot) and returns them loaded.
 * Safe against another process syncing the same library at the same time: the loser starts over.
 */
export function syncCodes(library: Library, key: string): { snapshot: CodeSnapshot; report: SyncReport } {
  const { id, dim } = modelRow(library, key);
  for (let attempt = 1; ; attempt++) {
    try {
      return new Syncer(library, key, id, dim).run();
    } catch (err) {
      if (!(err instanceof ConcurrentSync) || attempt >= SYNC_ATTEMPTS) {
        if (err instanceof ConcurrentSync) throw new TriagemError('search codes keep changing under another process; try again', 'search-busy', library.file);
        throw err;
      }
    }
  }
}
