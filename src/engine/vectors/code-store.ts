// The library's embeddings as a search index and as near-duplicate signatures: persisted at indexing
// time, only read when searching.
//
//   persistVectorIndex   (indexing) brings the stored codes and signatures in line with the model's
//                        embeddings: encodes new ones, drops deleted ones, re-fits the quantizer while
//                        the library is young and has grown 4×. Writes only the blocks that change.
//   openVectorIndex      (search) loads the stored codes into a TwoStageIndex and syncs it with the
//                        embeddings *in memory*: images indexed since the last persist are encoded on
//                        the fly and nothing is written, so searching never changes the library file.
//   loadSignatures       (duplicates) the same for signatures.
// SQL for both lives in library/vector-blocks.ts.

import { TriagemError } from '../errors.js';
import type { Library } from '../library/library.js';
import { ConcurrentChange, type BlockKind, type BlockWriter, type StoredBlock } from '../library/vector-blocks.js';
import { CODE_VERSION, deserializeParams, planeBytes, serializeParams, type QuantizerParams } from './quantizer.js';
import { SIGNATURE_VERSION, SignatureHasher, signatureBytes } from './signatures.js';
import { TwoStageIndex, encodeCodes, fitOnSample, needsRefit } from './two-stage.js';
import type { SyncReport, VectorRows, VectorSource } from './types.js';

/** Records per stored block: 4096 × 64-byte planes is a 256 KB blob. */
export const BLOCK_CAPACITY = 4096;
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

/** Records of one kind, flattened in block order, with where each block starts. */
export interface BlockSet {
  ids: Int32Array;
  data: Uint8Array;
  blockIds: number[];
  /** Position where each block begins; blockStart[blockIds.length] = ids.length. */
  blockStart: number[];
}

type Write = (w: BlockWriter) => void;

export function blockSet(stored: readonly StoredBlock[], recordBytes: number): BlockSet {
  const total = stored.reduce((s, b) => s + b.ids.length, 0);
  const out: BlockSet = { ids: new Int32Array(total), data: new Uint8Array(total * recordBytes), blockIds: [], blockStart: [] };
  let at = 0;
  for (const b of stored) {
    out.blockIds.push(b.block);
    out.blockStart.push(at);
    out.ids.set(b.ids, at);
    out.data.set(b.data, at * recordBytes);
    at += b.ids.length;
  }
  out.blockStart.push(at);
  return out;
}

/** Drops `removed` from the set: rewrites (or deletes) each block that held one. */
export function removeRecords(set: BlockSet, removed: ReadonlySet<number>, recordBytes: number, kind: BlockKind, writes: Write[]): BlockSet {
  if (removed.size === 0) return set;
  const ids: number[] = [];
  const blockIds: number[] = [];
  const blockStart: number[] = [];
  const data = new Uint8Array(set.data.length);
  for (let b = 0; b < set.blockIds.length; b++) {
    const start = ids.length;
    let touched = false;
    for (let s = set.blockStart[b]; s < set.blockStart[b + 1]; s++) {
      if (removed.has(set.ids[s])) {
        touched = true;
        continue;
      }
      data.set(set.data.subarray(s * recordBytes, (s + 1) * recordBytes), ids.length * recordBytes);
      ids.push(set.ids[s]);
    }
    const block = set.blockIds[b];
    if (ids.length > start) {
      blockIds.push(block);
      blockStart.push(start);
    }
    if (!touched) continue;
    if (ids.length === start) {
      writes.push((w) => w.delete(kind, block));
    } else {
      const blockIdsCopy = Int32Array.from(ids.slice(start));
      const blockData = data.slice(start * recordBytes, ids.length * recordBytes);
      writes.push((w) => w.put(kind, block, blockIdsCopy, blockData));
    }
  }
  blockStart.push(ids.length);
  return { ids: Int32Array.from(ids), data: data.slice(0, ids.length * recordBytes), blockIds, blockStart };
}

/** Appends records: fills the last block, then opens new ones; each touched block is rewritten whole. */
export function appendRecords(set: BlockSet, ids: Int32Array, data: Uint8Array, recordBytes: number, kind: BlockKind, writes: Write[]): BlockSet {
  if (ids.length === 0) return set;
  const allIds = new Int32Array(set.ids.length + ids.length);
  allIds.set(set.ids);
  allIds.set(ids, set.ids.length);
  const allData = new Uint8Array(allIds.length * recordBytes);
  allData.set(set.data);
  allData.set(data, set.data.length);
  const blockIds = [...set.blockIds];
  const blockStart = set.blockStart.slice(0, -1);
  let at = set.ids.length;
  // The last block takes what fits; its existing records are rewritten with the new ones.
  let block = blockIds.length > 0 ? blockIds[blockIds.length - 1] : 0;
  let start = blockIds.length > 0 ? blockStart[blockStart.length - 1] : 0;
  if (blockIds.length === 0 || at - start >= BLOCK_CAPACITY) {
    block++;
    start = at;
    blockIds.push(block);
    blockStart.push(start);
  }
  while (at < allIds.length) {
    const end = Math.min(allIds.length, start + BLOCK_CAPACITY);
    const b = block;
    const blockIdsCopy = allIds.slice(start, end);
    const blockData = allData.slice(start * recordBytes, end * recordBytes);
    writes.push((w) => w.put(kind, b, blockIdsCopy, blockData));
    at = end;
    if (at < allIds.length) {
      block++;
      start = at;
      blockIds.push(block);
      blockStart.push(start);
    }
  }
  blockStart.push(allIds.length);
  return { ids: allIds, data: allData, blockIds, blockStart };
}

/** Replaces every block of a kind with `ids`/`data` laid out from block 1. */
function rewriteAll(ids: Int32Array, data: Uint8Array, recordBytes: number, kind: BlockKind, writes: Write[]): void {
  writes.push((w) => w.clear(kind));
  appendRecords({ ids: new Int32Array(0), data: new Uint8Array(0), blockIds: [], blockStart: [0] }, ids, data, recordBytes, kind, writes);
}

function storedParams(library: Library, modelId: number, dim: number): { params: QuantizerParams; fittedOn: number } | undefined {
  const state = library.vectorBlocks.state(modelId);
  if (!state || state.codesVersion !== CODE_VERSION || !state.params) return undefined;
  const params = deserializeParams(state.params, dim);
  return params && { params, fittedOn: state.fittedOn };
}

/** The stored sign and magnitude planes, or undefined when missing or out of step with each other. */
function storedPlanes(library: Library, modelId: number, plane: number): { signs: BlockSet; mags: BlockSet } | undefined {
  const signs = library.vectorBlocks.read(modelId, 'signs', plane);
  const mags = library.vectorBlocks.read(modelId, 'mags', plane);
  if (!signs || !mags || signs.length !== mags.length) return undefined;
  for (let b = 0; b < signs.length; b++) {
    const x = signs[b];
    const y = mags[b];
    if (x.block !== y.block || x.ids.length !== y.ids.length || x.ids.some((id, i) => id !== y.ids[i])) return undefined;
  }
  return { signs: blockSet(signs, plane), mags: blockSet(mags, plane) };
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
  const source = librarySource(library, key);
  const embedded = source.ids();
  const plane = planeBytes(dim);
  const sigSize = signatureBytes();
  const writes: Write[] = [];

  // Codes: appended with the stored quantizer, or everything re-encoded after a (re-)fit.
  let quantizer = storedParams(library, modelId, dim);
  let planes = quantizer ? storedPlanes(library, modelId, plane) : undefined;
  const refit = !planes || needsRefit(quantizer?.fittedOn ?? 0, embedded.size);
  const haveCodes = new Set<number>(planes?.signs.ids ?? []);
  const codesRemoved = new Set<number>();
  for (const id of haveCodes) if (!embedded.has(id)) codesRemoved.add(id);
  const codesNeeded = new Set<number>();
  for (const id of embedded) if (refit || !haveCodes.has(id)) codesNeeded.add(id);

  // Signatures are centred on the quantizer's mean (see signatures.ts): all re-made after a re-fit.
  const storedSigs = !refit && state?.signaturesVersion === SIGNATURE_VERSION ? store.read(modelId, 'signatures', sigSize) : undefined;
  let sigs = storedSigs ? blockSet(storedSigs, sigSize) : undefined;
  const haveSigs = new Set<number>(sigs?.ids ?? []);
  const sigsRemoved = new Set<number>();
  for (const id of haveSigs) if (!embedded.has(id)) sigsRemoved.add(id);
  const sigsNeeded = new Set<number>();
  for (const id of embedded) if (!haveSigs.has(id)) sigsNeeded.add(id);

  if (refit && embedded.size > 0) quantizer = fitOnSample(source, embedded);
  else if (embedded.size === 0) quantizer = undefined;

  // One pass over the vectors that need either.
  const wanted = quantizer ? new Set<number>([...codesNeeded, ...sigsNeeded]) : new Set<number>();
  const hasher = quantizer && new SignatureHasher(quantizer.params.mean);
  const codeIds: number[] = [];
  const signParts: Uint8Array[] = [];
  const magParts: Uint8Array[] = [];
  const sigIds: number[] = [];
  const sigParts: Uint8Array[] = [];
  for (const rows of source.read(wanted)) {
    const forCodes: number[] = [];
    const forSigs: number[] = [];
    rows.ids.forEach((id, r) => {
      if (codesNeeded.has(id)) forCodes.push(r);
      if (sigsNeeded.has(id)) forSigs.push(r);
    });
    if (quantizer && forCodes.length) {
      const sub = forCodes.length === rows.ids.length ? rows : pick(rows, forCodes, dim);
      const codes = encodeCodes(quantizer.params, sub);
      signParts.push(codes.signs);
      magParts.push(codes.mags);
      codeIds.push(...sub.ids);
    }
    if (hasher && forSigs.length) {
      const sub = forSigs.length === rows.ids.length ? rows : pick(rows, forSigs, dim);
      sigParts.push(hasher.signAll(sub.data, sub.ids.length));
      sigIds.push(...sub.ids);
    }
  }
  const newIds = Int32Array.from(codeIds);
  if (refit) {
    rewriteAll(newIds, joinBytes(signParts), plane, 'signs', writes);
    rewriteAll(newIds, joinBytes(magParts), plane, 'mags', writes);
    const params = quantizer ? serializeParams(quantizer.params) : null;
    const fittedOn = quantizer?.fittedOn ?? 0;
    writes.push((w) => w.setCodes(CODE_VERSION, fittedOn, params));
  } else if (planes) {
    const signs = appendRecords(removeRecords(planes.signs, codesRemoved, plane, 'signs', writes), newIds, joinBytes(signParts), plane, 'signs', writes);
    const mags = appendRecords(removeRecords(planes.mags, codesRemoved, plane, 'mags', writes), newIds, joinBytes(magParts), plane, 'mags', writes);
    planes = { signs, mags };
  }
  if (!sigs) {
    rewriteAll(Int32Array.from(sigIds), joinBytes(sigParts), sigSize, 'signatures', writes);
    writes.push((w) => w.setSignaturesVersion(SIGNATURE_VERSION));
  } else {
    sigs = removeRecords(sigs, sigsRemoved, sigSize, 'signatures', writes);
    sigs = appendRecords(sigs, Int32Array.from(sigIds), joinBytes(sigParts), sigSize, 'signatures', writes);
  }
  if (writes.length > 0 || state?.syncedChange !== change) {
    writes.push((w) => w.setSyncedChange(change));
    store.commit(modelId, state?.generation, (w) => writes.forEach((write) => write(w)));
  }
  return {
    codes: { added: codeIds.length, removed: codesRemoved.size, refit: refit && embedded.size > 0, total: embedded.size },
    signatures: { added: sigIds.length, removed: sigsRemoved.size, total: embedded.size },
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
export function openVectorIndex(library: Library, key: string): { index: TwoStageIndex; sync: SyncReport } {
  const started = performance.now();
  const { id: modelId, dim } = library.embeddingModel(key);
  const change = library.embeddingsChange(key);
  const state = library.vectorBlocks.state(modelId);
  const quantizer = storedParams(library, modelId, dim);
  const planes = quantizer ? storedPlanes(library, modelId, planeBytes(dim)) : undefined;
  const lookup = library.fixedEmbeddingReader(key);
  const stored = quantizer && planes ? { ...quantizer, ids: planes.signs.ids, signs: planes.signs.data, mags: planes.mags.data } : undefined;
  const index = new TwoStageIndex(dim, lookup, stored);
  if (stored && state?.syncedChange === change) {
    return { index, sync: { added: 0, removed: 0, rebuilt: false, total: index.size, ms: performance.now() - started } };
  }
  const sync = index.sync(librarySource(library, key));
  return { index, sync };
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
export function loadSignatures(library: Library, key: string, wanted?: ReadonlySet<number>): Signatures {
  const { id: modelId, dim } = library.embeddingModel(key);
  const size = signatureBytes();
  const want = wanted ?? library.embeddedContentIds(key);
  const state = library.vectorBlocks.state(modelId);
  const quantizer = storedParams(library, modelId, dim);
  const stored = quantizer && state?.signaturesVersion === SIGNATURE_VERSION ? library.vectorBlocks.read(modelId, 'signatures', size) : undefined;
  // Without a stored quantizer, a centre from a sample (and every signature made here).
  const mean = quantizer?.params.mean ?? (want.size > 0 ? fitOnSample(librarySource(library, key), want).params.mean : new Float32Array(dim));
  const ids: number[] = [];
  const parts: Uint8Array[] = [];
  const have = new Set<number>();
  for (const b of stored ?? []) {
    const keep: number[] = [];
    b.ids.forEach((id, i) => {
      if (want.has(id) && !have.has(id)) {
        keep.push(i);
        have.add(id);
      }
    });
    if (keep.length === b.ids.length) {
      parts.push(b.data);
    } else {
      const data = new Uint8Array(keep.length * size);
      keep.forEach((i, k) => data.set(b.data.subarray(i * size, (i + 1) * size), k * size));
      parts.push(data);
    }
    for (const i of keep) ids.push(b.ids[i]);
  }
  const missing = new Set<number>();
  for (const id of want) if (!have.has(id)) missing.add(id);
  let computed = 0;
  if (missing.size > 0) {
    const hasher = new SignatureHasher(mean);
    for (const rows of library.streamEmbeddings(key, missing)) {
      parts.push(hasher.signAll(rows.data, rows.ids.length));
      ids.push(...rows.ids);
      computed += rows.ids.length;
    }
  }
  return { ids: Int32Array.from(ids), data: joinBytes(parts), mean, computed };
}
