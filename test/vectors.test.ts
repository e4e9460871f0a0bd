// The vector index behind its interface (add, remove, sync, search with a filter; recall against
// exact search), near-duplicates compared incrementally, and the promise that searching and finding
// duplicates never change the library file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticEmbeddings, addSyntheticImages } from '../bench/_search-synthetic.js';
import { ALL_PAIRS_LIMIT, NearDuplicates, STORED_PAIRS_THRESHOLD, findDuplicates, persistNearPairs } from '../src/engine/duplicates/duplicates.js';
import { Library } from '../src/engine/library/library.js';
import { loadSignatures, openVectorIndex, persistVectorIndex } from '../src/engine/vectors/code-store.js';
import { dotFixed16, encodeFixed16, fixed16View } from '../src/engine/vectors/fixed16.js';
import { TwoStageIndex } from '../src/engine/vectors/two-stage.js';
import type { VectorIndex, VectorRows, VectorSource } from '../src/engine/vectors/types.js';
import { tempDir } from './support/index-fixtures.js';

/** Vectors held in a Map: a VectorSource and the 16-bit lookup the two-stage index re-scores with. */
class MapSource implements VectorSource {
  readonly vectors = new Map<number, Float32Array>();
  private readonly fixed = new Map<number, Int16Array>();
  constructor(readonly dim: number) {}
  set(id: number, v: Float32Array): void {
    this.vectors.set(id, v);
    this.fixed.set(id, fixed16View(encodeFixed16(v)));
  }
  delete(id: number): void {
    this.vectors.delete(id);
    this.fixed.delete(id);
  }
  ids(): ReadonlySet<number> {
    return new Set(this.vectors.keys());
  }
  *read(ids: ReadonlySet<number>): Iterable<VectorRows> {
    const list = [...ids].filter((id) => this.vectors.has(id));
    const data = new Float32Array(list.length * this.dim);
    list.forEach((id, i) => data.set(this.vectors.get(id)!, i * this.dim));
    yield { ids: Int32Array.from(list), data };
  }
  lookup = (ids: readonly number[]): (Int16Array | undefined)[] => ids.map((id) => this.fixed.get(id));
}

/** Exact top k by the stored (16-bit) vectors, which is what the index re-scores with. */
function exactTop(source: MapSource, query: Float32Array, k: number, filter?: ReadonlySet<number>): number[] {
  const scored: [number, number][] = [];
  for (const id of source.vectors.keys()) {
    if (filter && !filter.has(id)) continue;
    scored.push([dotFixed16(query, source.lookup([id])[0]!), id]);
  }
  return scored
    .sort((a, b) => b[0] - a[0])
    .slice(0, k)
    .map(([, id]) => id);
}

function rows(data: Float32Array, dim: number, first: number): { ids: number[]; vectors: Float32Array[] } {
  const n = data.length / dim;
  return { ids: Array.from({ length: n }, (_, i) => first + i), vectors: Array.from({ length: n }, (_, i) => data.slice(i * dim, (i + 1) * dim)) };
}

describe('the vector index interface (two-stage implementation)', () => {
  const dim = 96;
  const gen = new SyntheticEmbeddings({ dim, clusters: 120, seed: 77 });

  it('adds, replaces, removes and syncs; search honours filter and exclude', () => {
    const source = new MapSource(dim);
    const index: VectorIndex = new TwoStageIndex(dim, source.lookup);
    const first = rows(gen.images(4000).data, dim, 1);
    first.ids.forEach((id, i) => source.set(id, first.vectors[i]));
    const flat = new Float32Array(first.ids.length * dim);
    first.vectors.forEach((v, i) => flat.set(v, i * dim));
    index.add(first.ids, flat);
    expect(index.size).toBe(4000);
    expect(index.has(1) && index.has(4000) && !index.has(4001)).toBe(true);

    // An image query finds itself first; text-like queries find the exact top 10.
    for (let q = 0; q < 10; q++) {
      const self = index.search(first.vectors[q * 300], { k: 1 });
      expect(self.hits[0].id).toBe(first.ids[q * 300]);
      expect(self.hits[0].score).toBeCloseTo(1, 3);
      const text = gen.textQuery();
      expect(index.search(text, { k: 10 }).hits.map((h) => h.id)).toEqual(exactTop(source, text, 10));
    }

    // A filter keeps results inside it (through the masked scan and the exact subset), exclude drops ids.
    const odd = new Set(first.ids.filter((id) => id % 2 === 1));
    const few = new Set(first.ids.filter((id) => id % 97 === 0));
    const text = gen.textQuery();
    expect(index.search(text, { k: 10, filter: odd }).hits.map((h) => h.id)).toEqual(exactTop(source, text, 10, odd));
    const small = index.search(text, { k: 5, filter: few });
    expect(small.mode).toBe('exact-subset');
    expect(small.hits.map((h) => h.id)).toEqual(exactTop(source, text, 5, few));
    const top = index.search(text, { k: 3 }).hits.map((h) => h.id);
    expect(index.search(text, { k: 2, exclude: new Set([top[0]]) }).hits.map((h) => h.id)).toEqual(top.slice(1));

    // Replacing a vector moves the id; removing ids drops them from results and from the count.
    const moved = first.ids[10];
    const target = first.vectors[3000];
    source.set(moved, target);
    index.add([moved], target);
    expect(index.size).toBe(4000);
    expect(index.search(target, { k: 2 }).hits.map((h) => h.id).sort((a, b) => a - b)).toEqual([moved, first.ids[3000]].sort((a, b) => a - b));
    const gone = first.ids.slice(0, 100);
    index.remove(gone);
    gone.forEach((id) => source.delete(id));
    expect(index.size).toBe(3900);
    expect(index.has(gone[0])).toBe(false);
    expect(index.search(first.vectors[50], { k: 5 }).hits.some((h) => gone.includes(h.id))).toBe(false);
    expect(index.search(text, { k: 10 }).hits.map((h) => h.id)).toEqual(exactTop(source, text, 10));

    // Sync: the source lost 50 and gained 700 → the index follows.
    for (const id of first.ids.slice(100, 150)) source.delete(id);
    const more = rows(gen.images(700).data, dim, 10_001);
    more.ids.forEach((id, i) => source.set(id, more.vectors[i]));
    const report = index.sync(source);
    expect(report).toMatchObject({ added: 700, removed: 50, rebuilt: false, total: 4550 });
    expect(new Set(index.ids())).toEqual(new Set(source.ids()));
    expect(index.search(more.vectors[5], { k: 1 }).hits[0].id).toBe(more.ids[5]);
    expect(index.sync(source)).toMatchObject({ added: 0, removed: 0 });
  });

  it('recall@10 against exact search stays ≥ 0.97 for text-like queries on 20k clustered vectors', () => {
    const source = new MapSource(dim);
    const { ids, vectors } = rows(gen.images(20_000).data, dim, 1);
    ids.forEach((id, i) => source.set(id, vectors[i]));
    const index = new TwoStageIndex(dim, source.lookup);
    // Built by sync from nothing: the quantizer is fitted on a sample, then every vector is encoded.
    expect(index.sync(source)).toMatchObject({ added: 20_000, rebuilt: true });
    let recall = 0;
    const queries = 40;
    for (let q = 0; q < queries; q++) {
      const text = gen.textQuery();
      const want = new Set(exactTop(source, text, 10));
      recall += index.search(text, { k: 10 }).hits.filter((h) => want.has(h.id)).length / 10;
    }
    expect(recall / queries).toBeGreaterThanOrEqual(0.97);
  });
});

describe('near-duplicates, incrementally', () => {
  const dim = 64;
  const key = 'synthetic:fp32';
  let root: string;

  beforeAll(() => {
    root = tempDir('duplicates-incremental');
  });
  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** n images, the last `copies` of them near-copies (cosine 0.97) of earlier ones. */
  function images(gen: SyntheticEmbeddings, n: number, copies: number, of: Float32Array | undefined): Float32Array {
    const { data } = gen.images(n);
    const source = of ?? data;
    for (let c = 0; c < copies; c++) {
      const from = (c * 13) % (source.length / dim - copies);
      data.set(gen.nearCopy(source.subarray(from * dim, (from + 1) * dim), 0.97), (n - copies + c) * dim);
    }
    return data;
  }

  const pairKeys = (finder: NearDuplicates) => finder.foundPairs().map((p) => `${p.a}-${p.b}`).sort();

  for (const [label, base] of [
    ['LSH', ALL_PAIRS_LIMIT + 1500],
    ['all pairs', 800],
  ] as const) {
    it(`${label}: a second run compares only the new images and ends with a full run's pairs`, () => {
      const library = Library.open(path.join(root, `${label}.sqlite`));
      try {
        const gen = new SyntheticEmbeddings({ dim, clusters: 100, seed: 31 });
        const old = images(gen, base, 40, undefined);
        addSyntheticImages(library, key, old, dim);
        persistVectorIndex(library, key);
        const finder = new NearDuplicates(library, key, 0.95);
        const first = finder.find({ exact: false });
        expect(first.compared).toBe(base);
        expect(first.method).toBe(label === 'LSH' ? 'lsh' : 'all-pairs');

        // 300 new images, 30 of them near-copies of old ones; the library is indexed again.
        const fresh = images(gen, 300, 30, old);
        const newIds = addSyntheticImages(library, key, fresh, dim);
        persistVectorIndex(library, key);
        const second = finder.find({ exact: false });
        expect(second.compared).toBe(300);
        expect(second.total).toBe(base + 300);
        // Every planted copy among the new images is found, linked to its original.
        const copies = new Set(newIds.slice(-30));
        expect(finder.foundPairs().filter((p) => copies.has(p.b)).length).toBeGreaterThanOrEqual(30);
        const full = new NearDuplicates(library, key, 0.95);
        expect(full.find({ exact: false }).compared).toBe(base + 300);
        expect(pairKeys(finder)).toEqual(pairKeys(full));

        expect(second.stored).toBe(false);
        // Nothing new: nothing compared. Images that leave take their pairs with them.
        expect(finder.find({ exact: false })).toMatchObject({ compared: 0, method: 'none' });
        const leaving = finder.foundPairs()[0];
        library.db.prepare('UPDATE files SET present = 0 WHERE content_id = ?').run(leaving.b);
        const third = finder.find({ exact: false });
        expect(third.compared).toBe(0);
        expect(finder.foundPairs().some((p) => p.a === leaving.b || p.b === leaving.b)).toBe(false);
      } finally {
        library.close();
      }
    });
  }
});

describe('near pairs stored at indexing time', () => {
  it('indexing compares only the new images; a duplicate search reads the pairs and equals brute force', () => {
    const root = tempDir('duplicates-stored');
    const dim = 64;
    const key = 'synthetic:fp32';
    const library = Library.open(path.join(root, 'lib.sqlite'));
    try {
      const gen = new SyntheticEmbeddings({ dim, clusters: 100, seed: 41 });
      const base = ALL_PAIRS_LIMIT + 1200;
      const all: Float32Array[] = [];
      const plant = (data: Float32Array, n: number, copies: number) => {
        for (let c = 0; c < copies; c++) data.set(gen.nearCopy(all[(c * 17) % all.length] ?? data.subarray(c * dim, (c + 1) * dim), 0.97), (n - copies + c) * dim);
      };
      const first = gen.images(base).data;
      plant(first, base, 40);
      const firstIds = addSyntheticImages(library, key, first, dim);
      firstIds.forEach((_, i) => all.push(first.slice(i * dim, (i + 1) * dim)));
      persistVectorIndex(library, key);
      const full = persistNearPairs(library, key);
      expect(full).toMatchObject({ full: true, compared: base });
      expect(persistNearPairs(library, key)).toMatchObject({ full: false, compared: 0, found: 0 });

      const more = gen.images(300).data;
      plant(more, 300, 30);
      const moreIds = addSyntheticImages(library, key, more, dim);
      moreIds.forEach((_, i) => all.push(more.slice(i * dim, (i + 1) * dim)));
      persistVectorIndex(library, key);
      const step = persistNearPairs(library, key);
      expect(step).toMatchObject({ full: false, compared: 300 });
      expect(step.found).toBeGreaterThanOrEqual(30);

      // The search reads the stored pairs: nothing left to compare in memory.
      const finder = new NearDuplicates(library, key, STORED_PAIRS_THRESHOLD);
      const report = finder.find({ exact: false });
      expect(report).toMatchObject({ stored: true, compared: 0, method: 'none', total: base + 300 });
      const ids = [...firstIds, ...moreIds];
      const truth: string[] = [];
      for (let i = 0; i < all.length; i++) {
        for (let j = i + 1; j < all.length; j++) {
          let s = 0;
          for (let k = 0; k < dim; k++) s += all[i][k] * all[j][k];
          // Stored vectors are 16-bit: pairs within 1e-4 of the threshold may fall either side.
          if (s >= STORED_PAIRS_THRESHOLD + 1e-4) truth.push(`${ids[i]}-${ids[j]}`);
        }
      }
      const found = new Set(finder.foundPairs().map((p) => `${p.a}-${p.b}`));
      expect(truth.length).toBeGreaterThanOrEqual(70);
      for (const pair of truth) expect(found.has(pair), pair).toBe(true);
      // A stricter threshold filters the stored pairs; a looser one is computed in memory.
      expect(findDuplicates(library, key, { threshold: 0.99, exact: false }).stored).toBe(true);
      expect(findDuplicates(library, key, { threshold: 0.9, exact: false })).toMatchObject({ stored: false, compared: base + 300 });
    } finally {
      library.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('searching and finding duplicates never write to the library file', () => {
  it('leaves every byte of the file as it was, also when indexing has not stored the codes yet', () => {
    const root = tempDir('read-only');
    const file = path.join(root, 'lib.sqlite');
    const dim = 64;
    const key = 'synthetic:fp32';
    try {
      const gen = new SyntheticEmbeddings({ dim, clusters: 60, seed: 9 });
      let library = Library.open(file);
      addSyntheticImages(library, key, gen.images(ALL_PAIRS_LIMIT + 500).data, dim);
      persistVectorIndex(library, key);
      persistNearPairs(library, key);
      // Indexed after the last persist: opening the index must encode these in memory, not store them.
      addSyntheticImages(library, key, gen.images(200).data, dim);
      library.close();
      const digest = () => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
      const before = digest();

      library = Library.open(file, { mode: 'read' });
      const { index, sync } = openVectorIndex(library, key);
      expect(sync.added).toBe(200);
      expect(index.search(gen.textQuery(), { k: 10 }).hits).toHaveLength(10);
      expect(loadSignatures(library, key).computed).toBe(200);
      expect(findDuplicates(library, key)).toMatchObject({ stored: true, compared: 200, method: 'lsh' });
      expect(findDuplicates(library, key, { threshold: 0.9 })).toMatchObject({ stored: false, method: 'lsh' });
      library.close();
      expect(digest()).toBe(before);
      expect(fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0).toBe(0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
