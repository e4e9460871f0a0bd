// The library's embeddings as a search index and as near-duplicate signatures: persisted at indexing
// time, only read when searching.
//
//   persistVectorIndex   (indexing) brings the stored codes and signatures in line with the model's
//                        embeddings: encodes new ones, drops deleted ones, re-fits the quantizer while
//                        the library is young and has grown 4×, refreshes the background sample.
//                        Writes only the blocks that change.
//   openVectorIndex      (search) loads the stored codes into a TwoStageIndex and syncs it with the
//                        embeddings *in memory*: images indexed since the last persist are encoded on
//                        the fly and nothing is written, so searching never changes the library file.
//   loadSignatures       (duplicates) the same for signatures.
// SQL for both lives in library/vector-blocks.ts.

import { TriagemError } from '../errors.js';
import type { Library } from '../library/library.js';
import { ConcurrentChange, type BlockKind, type BlockWriter, type StoredBlock } from '../library/vector-blocks.js';
import { decodeFixed16 } from './fixed16.js';
import { CODE_VERSION, deserializeParams, planeBytes, serializeParams, type QuantizerParams } from './quantizer.js';
import { SIGNATURE_VERSION, SignatureHasher, signatureBytes } from './signatures.js';
import { TwoStageIndex, encodeCodes, fitOnSample, needsRefit } from './two-stage.js';
import type { SyncReport, VectorRows, VectorSource } from './types.js';

/** Records per stored block: 4096 × 64-byte planes is a 256 KB blob. */
export const BLOCK_CAPACITY = 4096;
/**
 * Embeddings in the stored background sample: what a query scores on ordinary images (the search's
 * relevance cut-off). Stored as one block so the first query reads 1 MB once instead of making a
 * thousand point reads (~0.3 s with a cold disk cache).
 */
export const SAMPLE_SIZE = 1024;
const PERSIST_ATTEMPTS = 3;

/** One model's embeddings in the library, as a VectorSource. */
export function librarySource(library: Library, key: string): VectorSource {
  const { dim } = library.embeddingModel(key);
  let ids: ReadonlySet<number> | undefined;
  return {
    dim,
    ids: () => (ids ??= library.embeddedContentIds(key)),
    read: (wanted) => library.streamEmbeddings(key, wanted),
  };
}

export type Write = (w: BlockWriter) => void;

/** Membership by content id (ids are small dense integers, so a byte per id beats a Set at a million). */
export class IdMask {
  private bits: Uint8Array;
  constructor(ids: ArrayLike<number> = []) {
    let max = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] > max) max = ids[i];
    this.bits = new Uint8Array(max + 1);
    for (let i = 0; i < ids.length; i++) this.bits[ids[i]] = 1;
  }
  has(id: number): boolean {
    return id < this.bits.length && this.bits[id] === 1;
  }
  add(id: number): void {
    if (id >= this.bits.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[id] = 1;
  }
}

/** Every id of a kind's blocks, in block order. */
export function blockIds(blocks: readonly StoredBlock[]): Int32Array {
  const out = new Int32Array(blocks.reduce((s, b) => s + b.ids.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b.ids, at);
    at += b.ids.length;
  }
  return out;
}

/** The records of a kind's blocks back to back, in block order. */
export function blockData(blocks: readonly StoredBlock[]): Uint8Array {
  const out = new Uint8Array(blocks.reduce((s, b) => s + b.data.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b.data, at);
    at += b.data.length;
  }
  return out;
}

/** Drops the ids `gone` holds: each block that held one is rewritten (or deleted); the others are untouched. */
export function removeFromBlocks(blocks: readonly StoredBlock[], gone: (id: number) => boolean, recordBytes: number, kind: BlockKind, writes: Write[]): StoredBlock[] {
  const out: StoredBlock[] = [];
  for (const b of blocks) {
    let keep = 0;
    for (const id of b.ids) if (!gone(id)) keep++;
    if (keep === b.ids.length) {
      out.push(b);
      continue;
    }
    const block = b.block;
    if (keep === 0) {
      writes.push((w) => w.delete(kind, block));
      continue;
    }
    const ids = new Int32Array(keep);
    const data = new Uint8Array(keep * recordBytes);
    let k = 0;
    b.ids.forEach((id, i) => {
      if (gone(id)) return;
      ids[k] = id;
      data.set(b.data.subarray(i * recordBytes, (i + 1) * recordBytes), k * recordBytes);
      k++;
    });
    const rebuilt = { block, ids, data };
    writes.push((w) => w.put(kind, block, rebuilt.ids, rebuilt.data));
    out.push(rebuilt);
  }
  return out;
}

/** Appends records: fills the last block, then opens new ones; only those blocks are written. */
export function appendToBlocks(blocks: readonly StoredBlock[], ids: Int32Array, data: Uint8Array, recordBytes: number, kind: BlockKind, writes: Write[]): StoredBlock[] {
  if (ids.length === 0) return [...blocks];
  const out = [...blocks];
  let at = 0;
  const last = out.length > 0 ? out[out.length - 1] : undefined;
  if (last && last.ids.length < BLOCK_CAPACITY) {
    const take = Math.min(BLOCK_CAPACITY - last.ids.length, ids.length);
    const mergedIds = new Int32Array(last.ids.length + take);
    mergedIds.set(last.ids);
    mergedIds.set(ids.subarray(0, take), last.ids.length);
    const mergedData = new Uint8Array(mergedIds.length * recordBytes);
    mergedData.set(last.data);
    mergedData.set(data.subarray(0, take * recordBytes), last.data.length);
    const merged = { block: last.block, ids: mergedIds, data: mergedData };
    out[out.length - 1] = merged;
    writes.push((w) => w.put(kind, merged.block, merged.ids, merged.data));
    at = take;
  }
  let block = out.length > 0 ? out[out.length - 1].block : 0;
  while (at < ids.length) {
    const end = Math.min(ids.length, at + BLOCK_CAPACITY);
    const fresh = { block: ++block, ids: ids.slice(at, end), data: data.slice(at * recordBytes, end * recordBytes) };
    out.push(fresh);
    writes.push((w) => w.put(kind, fresh.block, fresh.ids, fresh.data));
    at = end;
  }
  return out;
}

/** Replaces every block of a kind with `ids`/`data` laid out from block 1. */
function rewriteAll(ids: Int32Array, data: Uint8Array, recordBytes: number, kind: BlockKind, writes: Write[]): StoredBlock[] {
  writes.push((w) => w.clear(kind));
  return appendToBlocks([], ids, data, recordBytes, kind, writes);
}

function storedParams(library: Library, modelId: number, dim: number): { params: QuantizerParams; fittedOn: number } | undefined {
  const state = library.vectorBlocks.state(modelId);
  if (!state || state.codesVersion !== CODE_VERSION || !state.params) return undefined;
  const params = deserializeParams(state.params, dim);
  return params && { params, fittedOn: state.fittedOn };
}

/** The stored sign and magnitude planes, or undefined when missing or out of step with each other. */
function storedPlanes(library: Library, modelId: number, plane: number): { signs: StoredBlock[]; mags: StoredBlock[] } | undefined {
  const signs = library.vectorBlocks.read(modelId, 'signs', plane);
  const mags = library.vectorBlocks.read(modelId, 'mags', plane);
  if (!signs || !mags || signs.length !== mags.length) return undefined;
  for (let b = 0; b < signs.length; b++) {
    const x = signs[b];
    const y = mags[b];
    if (x.block !== y.block || x.ids.length !== y.ids.length) return undefined;
    for (let i = 0; i < x.ids.length; i++) if (x.ids[i] !== y.ids[i]) return undefined;
  }
  return { signs, mags };
}

export interface PersistReport {
  codes: { added: number; removed: number; refit: boolean; total: number };
  signatures: { added: number; removed: number; total: number };
  ms: number;
}

/**
 * Brings the model's stored codes and signatures in line with its embeddings (indexing time).
 * Safe against another process doing the same at the same time: the loser starts over.
 */
export function persistVectorIndex(library: Library, key: string): PersistReport {
  for (let attempt = 1; ; attempt++) {
    try {
      return persistOnce(library, key);
    } catch (err) {
      if (!(err instanceof ConcurrentChange)) throw err;
      if (attempt >= PERSIST_ATTEMPTS) throw new TriagemError('search codes keep changing under another process; try again', 'search-busy', library.file);
    }
  }
}

function persistOnce(library: Library, key: string): PersistReport {
  const started = performance.now();
  const { id: modelId, dim } = library.embeddingModel(key);
  // Read before the ids: a change landing after this is caught by the next persist or open.
  const change = library.embeddingsChange(key);
  const store = library.vectorBlocks;
  const state = store.state(modelId);
  const embedded = library.embeddedIdList(key);
  const inLibrary = new IdMask(embedded);
  const plane = planeBytes(dim);
  const sigSize = signatureBytes();
  const writes: Write[] = [];

  // Codes: appended with the stored quantizer, or everything re-encoded after a (re-)fit.
  let quantizer = storedParams(library, modelId, dim);
  const planes = quantizer ? storedPlanes(library, modelId, plane) : undefined;
  const refit = !planes || needsRefit(quantizer?.fittedOn ?? 0, embedded.length);
  const coded = new IdMask(planes ? blockIds(planes.signs) : []);
  // Signatures are centred on the quantizer's mean (see signatures.ts): all re-made after a re-fit.
  const sigBlocks = !refit && state?.signaturesVersion === SIGNATURE_VERSION ? store.read(modelId, 'signatures', sigSize) : undefined;
  const signed = new IdMask(sigBlocks ? blockIds(sigBlocks) : []);

  const codesNeeded = new IdMask();
  const sigsNeeded = new IdMask();
  let codesRemoved = 0;
  let sigsRemoved = 0;
  let needed = 0;
  for (const id of embedded) {
    const c = refit || !coded.has(id);
    const s = !signed.has(id);
    if (c) codesNeeded.add(id);
    if (s) sigsNeeded.add(id);
    if (c || s) needed++;
  }
  if (planes) for (const b of planes.signs) for (const id of b.ids) if (!inLibrary.has(id)) codesRemoved++;
  if (sigBlocks) for (const b of sigBlocks) for (const id of b.ids) if (!inLibrary.has(id)) sigsRemoved++;

  if (refit && embedded.length > 0) quantizer = fitOnSample(librarySource(library, key), embedded);
  else if (embedded.length === 0) quantizer = undefined;

  // One pass over the vectors that need either (all of them: one sequential read instead of lookups).
  const codeIds: number[] = [];
  const signParts: Uint8Array[] = [];
  const magParts: Uint8Array[] = [];
  const sigIds: number[] = [];
  const sigParts: Uint8Array[] = [];
  if (quantizer && needed > 0) {
    const hasher = new SignatureHasher(quantizer.params.mean);
    const wanted = needed === embedded.length ? undefined : new Set(Array.from(embedded).filter((id) => codesNeeded.has(id) || sigsNeeded.has(id)));
    for (const rows of library.streamEmbeddings(key, wanted)) {
      const forCodes: number[] = [];
      const forSigs: number[] = [];
      rows.ids.forEach((id, r) => {
        if (codesNeeded.has(id)) forCodes.push(r);
        if (sigsNeeded.has(id)) forSigs.push(r);
      });
      if (forCodes.length) {
        const sub = forCodes.length === rows.ids.length ? rows : pick(rows, forCodes, dim);
        const codes = encodeCodes(quantizer.params, sub);
        signParts.push(codes.signs);
        magParts.push(codes.mags);
        codeIds.push(...sub.ids);
      }
      if (forSigs.length) {
        const sub = forSigs.length === rows.ids.length ? rows : pick(rows, forSigs, dim);
        sigParts.push(hasher.signAll(sub.data, sub.ids.length));
        sigIds.push(...sub.ids);
      }
    }
  }
  const gone = (id: number) => !inLibrary.has(id);
  const newCodeIds = Int32Array.from(codeIds);
  if (refit) {
    rewriteAll(newCodeIds, joinBytes(signParts), plane, 'signs', writes);
    rewriteAll(newCodeIds, joinBytes(magParts), plane, 'mags', writes);
    const params = quantizer ? serializeParams(quantizer.params) : null;
    const fittedOn = quantizer?.fittedOn ?? 0;
    writes.push((w) => w.setCodes(CODE_VERSION, fittedOn, params));
  } else if (planes) {
    appendToBlocks(removeFromBlocks(planes.signs, gone, plane, 'signs', writes), newCodeIds, joinBytes(signParts), plane, 'signs', writes);
    appendToBlocks(removeFromBlocks(planes.mags, gone, plane, 'mags', writes), newCodeIds, joinBytes(magParts), plane, 'mags', writes);
  }
  if (!sigBlocks) {
    rewriteAll(Int32Array.from(sigIds), joinBytes(sigParts), sigSize, 'signatures', writes);
    writes.push((w) => w.setSignaturesVersion(SIGNATURE_VERSION));
  } else {
    appendToBlocks(removeFromBlocks(sigBlocks, gone, sigSize, 'signatures', writes), Int32Array.from(sigIds), joinBytes(sigParts), sigSize, 'signatures', writes);
  }
  // A fresh background sample whenever the codes changed (a stride through the ids: indexing order
  // is not similarity order, so it is as good as random and stays put between runs).
  const codesChanged = writes.length > 0;
  if (codesChanged || (embedded.length > 0 && !store.read(modelId, 'sample', dim * 2)?.length)) {
    const take = Math.min(embedded.length, SAMPLE_SIZE);
    const step = embedded.length / Math.max(1, take);
    const sampleIds = Array.from({ length: take }, (_, i) => embedded[Math.floor(i * step)]);
    const read = library.fixedEmbeddingReader(key);
    const ids: number[] = [];
    const data = new Uint8Array(take * dim * 2);
    for (const id of sampleIds) {
      const v = read(id);
      if (!v) continue;
      data.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), ids.length * dim * 2);
      ids.push(id);
    }
    rewriteAll(Int32Array.from(ids), data.slice(0, ids.length * dim * 2), dim * 2, 'sample', writes);
  }
  if (writes.length > 0 || state?.syncedChange !== change) {
    writes.push((w) => w.setSyncedChange(change));
    store.commit(modelId, state?.generation, (w) => writes.forEach((write) => write(w)));
  }
  return {
    codes: { added: codeIds.length, removed: refit ? 0 : codesRemoved, refit: refit && embedded.length > 0, total: embedded.length },
    signatures: { added: sigIds.length, removed: sigBlocks ? sigsRemoved : 0, total: embedded.length },
    ms: performance.now() - started,
  };
}

function pick(rows: VectorRows, positions: number[], dim: number): VectorRows {
  const ids = new Int32Array(positions.length);
  const data = new Float32Array(positions.length * dim);
  positions.forEach((r, i) => {
    ids[i] = rows.ids[r];
    data.set(rows.data.subarray(r * dim, (r + 1) * dim), i * dim);
  });
  return { ids, data };
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The model's search index, from the stored codes plus an in-memory sync with the embeddings (never
 * writes). When indexing stored the codes after the last change to the embeddings, they are used as
 * they are; otherwise `sync` says what had to be encoded in memory.
 */
export function openVectorIndex(library: Library, key: string): { index: TwoStageIndex; sync: SyncReport; sample: Float32Array | undefined } {
  const started = performance.now();
  const { id: modelId, dim } = library.embeddingModel(key);
  const change = library.embeddingsChange(key);
  const state = library.vectorBlocks.state(modelId);
  const quantizer = storedParams(library, modelId, dim);
  const planes = quantizer ? storedPlanes(library, modelId, planeBytes(dim)) : undefined;
  const lookup = library.fixedEmbeddingsReader(key);
  const stored = quantizer && planes ? { ...quantizer, blocks: planes.signs.map((b, i) => ({ ids: b.ids, signs: b.data, mags: planes.mags[i].data })) } : undefined;
  const index = new TwoStageIndex(dim, lookup, stored);
  // The stored background sample, also when slightly behind: any ordinary images will do.
  const sampleBlocks = library.vectorBlocks.read(modelId, 'sample', dim * 2);
  const sample = sampleBlocks?.length ? decodeFixed16(new Int16Array(blockData(sampleBlocks).buffer)) : undefined;
  if (stored && state?.syncedChange === change) {
    return { index, sample, sync: { added: 0, removed: 0, rebuilt: false, total: index.size, ms: performance.now() - started } };
  }
  const sync = index.sync(librarySource(library, key));
  return { index, sample, sync };
}

export interface Signatures {
  ids: Int32Array;
  /** `signatureBytes()` per id, in `ids` order. */
  data: Uint8Array;
  /** The centre they were made with. */
  mean: Float32Array;
  /** Signatures computed here because none was stored yet. */
  computed: number;
}

/** Signatures of `wanted` (default: every embedded content), stored ones read and missing ones computed; never writes. */
export function loadSignatures(library: Library, key: string, wanted?: ArrayLike<number>): Signatures {
  const { id: modelId, dim } = library.embeddingModel(key);
  const size = signatureBytes();
  const want = wanted ?? library.embeddedIdList(key);
  const wantMask = new IdMask(want);
  const state = library.vectorBlocks.state(modelId);
  const quantizer = storedParams(library, modelId, dim);
  const stored = quantizer && state?.signaturesVersion === SIGNATURE_VERSION ? library.vectorBlocks.read(modelId, 'signatures', size) : undefined;
  // Without a stored quantizer, a centre from a sample (and every signature made here).
  const mean = quantizer?.params.mean ?? (want.length > 0 ? fitOnSample(librarySource(library, key), Array.from(want)).params.mean : new Float32Array(dim));
  const kept = removeFromBlocks(stored ?? [], (id) => !wantMask.has(id), size, 'signatures', []);
  const ids = blockIds(kept);
  const have = new IdMask(ids);
  const missing = new Set<number>();
  for (let i = 0; i < want.length; i++) if (!have.has(want[i])) missing.add(want[i]);
  const parts: Uint8Array[] = [blockData(kept)];
  const extraIds: number[] = [];
  if (missing.size > 0) {
    const hasher = new SignatureHasher(mean);
    for (const rows of library.streamEmbeddings(key, missing)) {
      parts.push(hasher.signAll(rows.data, rows.ids.length));
      extraIds.push(...rows.ids);
    }
  }
  const allIds = new Int32Array(ids.length + extraIds.length);
  allIds.set(ids);
  allIds.set(extraIds, ids.length);
  return { ids: allIds, data: joinBytes(parts), mean, computed: extraIds.length };
}
