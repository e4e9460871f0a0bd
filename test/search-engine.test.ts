// The search engine's parts: the WebAssembly Hamming kernel, the quantizer, the 16-bit embeddings, the
// persisted codes and their incremental sync, two-stage vs exact search on real library files, the
// adaptive cut-off and the query language.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticEmbeddings, addSyntheticImages, gaussian, prng } from '../bench/_search-synthetic.js';
import { Library } from '../src/engine/library/library.js';
import { backgroundStats, relevanceCutoff } from '../src/engine/search/cutoff.js';
import { combineTerms, parseQuery } from '../src/engine/search/query.js';
import { BLOCK_CAPACITY, openVectorIndex, persistVectorIndex } from '../src/engine/vectors/code-store.js';
import { decodeFixed16, dotFixed16, encodeFixed16 } from '../src/engine/vectors/fixed16.js';
import { HammingScanner } from '../src/engine/vectors/hamming-kernel.js';
import { asymmetricScores, asymmetricTables, encodeRow, fitQuantizer, planeBytes, querySignCode } from '../src/engine/vectors/quantizer.js';
import { walshHadamard } from '../src/engine/vectors/signatures.js';
import { EXACT_SUBSET_LIMIT, TwoStageIndex, selectSmallest } from '../src/engine/vectors/two-stage.js';
import { tempDir } from './support/index-fixtures.js';

function popcount(x: number): number {
  let c = 0;
  for (let v = x >>> 0; v; v &= v - 1) c++;
  return c;
}

function randomBytes(n: number, next: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

describe('Hamming kernel (WebAssembly popcount)', () => {
  it('matches a plain popcount for several code sizes, also after the memory grows', () => {
    const next = prng(3);
    for (const words of [1, 8, 12, 18]) {
      const scanner = new HammingScanner(words);
      const stride = words * 8;
      expect(scanner.scan(randomBytes(stride, next)).distances).toHaveLength(0);
      const codes: Uint8Array[] = [];
      // Appends in pieces so the memory grows underneath existing codes.
      for (let round = 0; round < 3; round++) {
        const batch = randomBytes(stride * 700, next);
        scanner.append(batch);
        for (let i = 0; i < 700; i++) codes.push(batch.slice(i * stride, (i + 1) * stride));
      }
      const query = randomBytes(stride, next);
      const { distances, histogram } = scanner.scan(query);
      expect(distances).toHaveLength(codes.length);
      const expectedHistogram = new Array<number>(words * 64 + 1).fill(0);
      codes.forEach((code, i) => {
        let d = 0;
        for (let b = 0; b < stride; b++) d += popcount(code[b] ^ query[b]);
        expect(distances[i]).toBe(d);
        expectedHistogram[d]++;
      });
      expect([...histogram]).toEqual(expectedHistogram);
      // The histogram is rebuilt, not accumulated, on the next scan.
      expect([...scanner.scan(query).histogram]).toEqual(expectedHistogram);
      // Overwriting one code and dropping every other one keep the rest in order.
      scanner.set(5, codes[0]);
      codes[5] = codes[0];
      const keep = Uint8Array.from({ length: codes.length }, (_, i) => (i % 2 === 0 ? 1 : 0));
      scanner.retain(keep);
      const kept = codes.filter((_, i) => i % 2 === 0);
      const after = scanner.scan(query).distances;
      expect(after).toHaveLength(kept.length);
      kept.forEach((code, i) => {
        let d = 0;
        for (let b = 0; b < stride; b++) d += popcount(code[b] ^ query[b]);
        expect(after[i]).toBe(d);
      });
    }
  });

  it('selects the smallest distances, ties included, honouring a mask', () => {
    const dist = Uint16Array.from([5, 1, 3, 3, 0, 9, 3, 2]);
    expect([...selectSmallest(dist, 4, undefined, 16)].sort()).toEqual([1, 2, 4, 7]);
    const histogram = new Uint32Array(17);
    for (const d of dist) histogram[d]++;
    expect([...selectSmallest(dist, 4, undefined, 16, histogram)].sort()).toEqual([1, 2, 4, 7]);
    const mask = Uint8Array.from([1, 0, 1, 1, 0, 1, 1, 1]);
    expect([...selectSmallest(dist, 3, mask, 16)].map((i) => dist[i]).sort()).toEqual([2, 3, 3]);
    expect(selectSmallest(dist, 100, mask, 16)).toHaveLength(6);
  });
});

describe('Walsh–Hadamard transform (near-duplicate hashing)', () => {
  it('equals the definition H[i][j] = (−1)^popcount(i & j) for every size up to 512', () => {
    const next = prng(9);
    for (let n = 1; n <= 512; n <<= 1) {
      const a = Float64Array.from({ length: n }, () => next() - 0.5);
      const expected = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expected[i] += (popcount(i & j) % 2 ? -1 : 1) * a[j];
      walshHadamard(a);
      for (let i = 0; i < n; i++) expect(a[i]).toBeCloseTo(expected[i], 9);
    }
  });
});

describe('quantizer and 16-bit embeddings', () => {
  const dim = 96;
  const gen = new SyntheticEmbeddings({ dim, clusters: 50, seed: 11 });
  const { data } = gen.images(3000);
  const params = fitQuantizer(data, dim);

  it('centres the sign bits: each is set for about half the images', () => {
    const plane = planeBytes(dim);
    const code = new Uint8Array(plane * 2);
    const ones = new Float64Array(dim);
    for (let i = 0; i < 3000; i++) {
      encodeRow(params, data, i, code, 0);
      for (let j = 0; j < dim; j++) ones[j] += (code[j >> 3] >> (j & 7)) & 1;
    }
    for (let j = 0; j < dim; j++) expect(ones[j] / 3000).toBeGreaterThan(0.35), expect(ones[j] / 3000).toBeLessThan(0.65);
  });

  it('ranks by the asymmetric 2-bit score close to the true cosine', () => {
    const plane = planeBytes(dim);
    const codes = new Uint8Array(3000 * plane * 2);
    const signs = new Uint8Array(3000 * plane);
    const mags = new Uint8Array(3000 * plane);
    for (let i = 0; i < 3000; i++) {
      encodeRow(params, data, i, codes, i * plane * 2);
      signs.set(codes.subarray(i * plane * 2, i * plane * 2 + plane), i * plane);
      mags.set(codes.subarray(i * plane * 2 + plane, (i + 1) * plane * 2), i * plane);
    }
    const q = gen.textQuery();
    const lut = asymmetricTables(params, q);
    const scores = new Float32Array(3000);
    asymmetricScores(lut, signs, mags, plane, dim, Int32Array.from({ length: 3000 }, (_, i) => i), scores);
    const exact: number[] = [];
    const approx: number[] = [];
    let qMean = 0;
    for (let j = 0; j < dim; j++) qMean += q[j] * params.mean[j];
    for (let i = 0; i < 3000; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += q[j] * data[i * dim + j];
      exact.push(s);
      approx.push(qMean + scores[i]);
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const me = mean(exact);
    const ma = mean(approx);
    let cov = 0;
    let ve = 0;
    let va = 0;
    for (let i = 0; i < exact.length; i++) {
      cov += (exact[i] - me) * (approx[i] - ma);
      ve += (exact[i] - me) ** 2;
      va += (approx[i] - ma) ** 2;
    }
    expect(cov / Math.sqrt(ve * va)).toBeGreaterThan(0.9);
    // The sign code of the query agrees more with its best image than with its worst.
    const best = exact.indexOf(Math.max(...exact));
    const worst = exact.indexOf(Math.min(...exact));
    const qCode = querySignCode(q, dim);
    const ham = (i: number) => {
      let d = 0;
      for (let b = 0; b < plane; b++) d += popcount(codes[i * plane * 2 + b] ^ qCode[b]);
      return d;
    };
    expect(ham(best)).toBeLessThan(ham(worst));
  });

  it('keeps embeddings to within 1.6e-5 per value in 16-bit fixed point', () => {
    const v = data.subarray(0, dim);
    const blob = encodeFixed16(v);
    expect(blob.length).toBe(dim * 2);
    const back = decodeFixed16(blob);
    for (let j = 0; j < dim; j++) expect(Math.abs(back[j] - v[j])).toBeLessThanOrEqual(1 / 32767 / 2 + 1e-9);
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += v[j] * data[dim + j];
    expect(Math.abs(dotFixed16(data.subarray(dim, 2 * dim), blob) - dot)).toBeLessThan(1e-4);
    // Clamped at ±1, and an odd byte offset (SQLite may hand one back) still decodes.
    expect([...decodeFixed16(encodeFixed16(Float32Array.from([2, -2, 0])))]).toEqual([1, -1, 0]);
    const odd = Buffer.alloc(blob.length + 1);
    blob.copy(odd, 1);
    expect([...decodeFixed16(odd.subarray(1))]).toEqual([...back]);
  });
});

describe('search codes in a real library file', () => {
  const dim = 64;
  const key = 'synthetic:fp32';
  let root: string;
  let library: Library;
  const gen = new SyntheticEmbeddings({ dim, clusters: 40, seed: 5 });

  beforeAll(() => {
    root = tempDir('search-codes');
    library = Library.open(path.join(root, 'lib.sqlite'));
  });
  afterAll(() => {
    library?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** Ids in the stored blocks of one kind, sorted. */
  function storedIds(kind: 'signs' | 'mags' | 'signatures'): number[] {
    const modelId = library.modelId(key) as number;
    const ids: number[] = [];
    for (const blob of library.db.prepare('SELECT ids FROM vector_blocks WHERE model_id = ? AND kind = ? ORDER BY block').pluck().all(modelId, kind) as Buffer[]) {
      ids.push(...new Int32Array(Uint8Array.from(blob).buffer));
    }
    return ids.sort((a, b) => a - b);
  }
  const embedded = () => [...library.embeddedContentIds(key)].sort((a, b) => a - b);

  it('adds codes for new embeddings, drops deleted ones, re-fits when the library grows 4×', () => {
    const first = addSyntheticImages(library, key, gen.images(1000).data, dim);
    let r = persistVectorIndex(library, key);
    expect(r.codes).toMatchObject({ added: 1000, removed: 0, refit: true, total: 1000 });
    expect(r.signatures).toMatchObject({ added: 1000, removed: 0 });
    expect(storedIds('signs')).toEqual(embedded());

    // Nothing changed: nothing to do (not even a write), and opening the index has nothing to encode.
    const generation = library.vectorBlocks.state(library.modelId(key)!)!.generation;
    r = persistVectorIndex(library, key);
    expect(r.codes).toMatchObject({ added: 0, removed: 0, refit: false, total: 1000 });
    expect(library.vectorBlocks.state(library.modelId(key)!)!.generation).toBe(generation);
    expect(openVectorIndex(library, key).sync).toMatchObject({ added: 0, removed: 0, rebuilt: false, total: 1000 });

    // A few more (well under 4×): appended with the existing quantizer.
    const more = addSyntheticImages(library, key, gen.images(700).data, dim);
    r = persistVectorIndex(library, key);
    expect(r.codes).toMatchObject({ added: 700, removed: 0, refit: false, total: 1700 });

    // Deleted embeddings lose their codes and signatures.
    const gone = [first[3], first[500], more[10]];
    expect(library.deleteEmbeddings(key, gone)).toBe(3);
    r = persistVectorIndex(library, key);
    expect(r.codes).toMatchObject({ added: 0, removed: 3, refit: false, total: 1697 });
    expect(r.signatures).toMatchObject({ added: 0, removed: 3 });
    expect(storedIds('signs')).toEqual(embedded());
    expect(storedIds('mags')).toEqual(embedded());
    expect(storedIds('signatures')).toEqual(embedded());
    for (const id of gone) expect(storedIds('signs')).not.toContain(id);

    // Past 4× the size it was fitted on: re-fit and re-encode everything, across several blocks.
    addSyntheticImages(library, key, gen.images(BLOCK_CAPACITY + 2500).data, dim);
    r = persistVectorIndex(library, key);
    expect(r.codes.refit).toBe(true);
    expect(r.codes.total).toBe(1697 + BLOCK_CAPACITY + 2500);
    expect(storedIds('signs')).toEqual(embedded());
    expect(storedIds('signatures')).toEqual(embedded());
    const blocks = library.db.prepare("SELECT count(*) FROM vector_blocks WHERE model_id = ? AND kind = 'signs'").pluck().get(library.modelId(key)) as number;
    expect(blocks).toBe(Math.ceil(embedded().length / BLOCK_CAPACITY));

    // Appends fill the last block before opening a new one.
    addSyntheticImages(library, key, gen.images(BLOCK_CAPACITY).data, dim);
    r = persistVectorIndex(library, key);
    expect(r.codes).toMatchObject({ added: BLOCK_CAPACITY, refit: false });
    const sizes = library.db.prepare("SELECT length(ids) / 4 FROM vector_blocks WHERE model_id = ? AND kind = 'signs' ORDER BY block").pluck().all(library.modelId(key)) as number[];
    expect(sizes.slice(0, -1).every((s) => s === BLOCK_CAPACITY)).toBe(true);
    expect(storedIds('signs')).toEqual(embedded());
  });

  it('opening an index encodes what indexing has not stored yet, in memory only', () => {
    const before = storedIds('signs');
    const added = addSyntheticImages(library, key, gen.images(30).data, dim);
    const { index, sync } = openVectorIndex(library, key);
    expect(sync).toMatchObject({ added: 30, removed: 0, rebuilt: false });
    for (const id of added) expect(index.has(id)).toBe(true);
    expect(storedIds('signs')).toEqual(before);
    persistVectorIndex(library, key);
  });

  it('stays consistent when another connection (another process) persisted first', () => {
    addSyntheticImages(library, key, gen.images(50).data, dim);
    // A second connection plays the other process: its persist lands first, ours finds nothing left to do.
    const other = Library.open(library.file);
    try {
      const modelId = library.modelId(key) as number;
      const before = library.vectorBlocks.state(modelId)!.generation;
      const theirs = persistVectorIndex(other, key);
      expect(theirs.codes.added).toBe(50);
      const ours = persistVectorIndex(library, key);
      expect(ours.codes.added).toBe(0);
      expect(library.vectorBlocks.state(modelId)!.generation).toBeGreaterThan(before);
      expect(storedIds('signs')).toEqual(embedded());
    } finally {
      other.close();
    }
  });
});

describe('two-stage search against exact search (real library file)', () => {
  const dim = 128;
  const key = 'synthetic:fp32';
  const n = 8000;
  let root: string;
  let library: Library;
  let index: TwoStageIndex;
  let ids: number[];
  const gen = new SyntheticEmbeddings({ dim, clusters: 200, seed: 21 });
  const images = gen.images(n).data;

  beforeAll(() => {
    root = tempDir('search-knn');
    library = Library.open(path.join(root, 'lib.sqlite'));
    ids = addSyntheticImages(library, key, images, dim, (i) => ({
      folder: i % 2 === 0 ? 'even' : 'odd',
      ext: i % 5 === 0 ? 'png' : 'jpg',
      takenAt: null,
      width: 100,
      height: 100,
    }));
    persistVectorIndex(library, key);
    index = openVectorIndex(library, key).index;
  });
  afterAll(() => {
    library?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('finds exactly the exact top 10 (recall 1.0) for text-like and image queries', () => {
    for (let q = 0; q < 40; q++) {
      const query = q % 2 === 0 ? gen.textQuery() : (library.getEmbedding(key, ids[q * 97]) as Float32Array);
      const fast = index.search(query, { k: 10 });
      const exact = index.search(query, { k: 10, exact: true });
      expect(fast.mode).toBe('two-stage');
      expect(fast.hits.map((h) => h.id)).toEqual(exact.hits.map((h) => h.id));
      expect(fast.hits.map((h) => h.score)).toEqual(exact.hits.map((h) => h.score));
    }
  });

  it('respects a filter through the masked scan and through the exact subset', () => {
    const even = new Set(ids.filter((_, i) => i % 2 === 0));
    expect(even.size).toBeGreaterThan(EXACT_SUBSET_LIMIT);
    const few = new Set(ids.filter((_, i) => i % 50 === 0));
    for (let q = 0; q < 20; q++) {
      const query = gen.textQuery();
      const masked = index.search(query, { k: 10, filter: even });
      expect(masked.mode).toBe('two-stage');
      expect(masked.hits.every((h) => even.has(h.id))).toBe(true);
      expect(masked.hits.map((h) => h.id)).toEqual(index.search(query, { k: 10, filter: even, exact: true }).hits.map((h) => h.id));
      const subset = index.search(query, { k: 10, filter: few });
      expect(subset.mode).toBe('exact-subset');
      expect(subset.hits.every((h) => few.has(h.id))).toBe(true);
      const all = index.exactScores(query, few).sort((a, b) => b.score - a.score).slice(0, 10);
      expect(subset.hits).toEqual(all);
      // Excluding the best result shifts the list by one.
      const top = index.search(query, { k: 11 });
      const without = index.search(query, { k: 10, exclude: new Set([top.hits[0].id]) });
      expect(without.hits.map((h) => h.id)).toEqual(top.hits.slice(1).map((h) => h.id));
    }
  });

  it('scores with the stored 16-bit embeddings to within 1e-4 of float32', () => {
    const query = gen.textQuery();
    const hits = index.search(query, { k: 5 }).hits;
    for (const h of hits) {
      const row = ids.indexOf(h.id);
      let s = 0;
      for (let j = 0; j < dim; j++) s += query[j] * images[row * dim + j];
      expect(Math.abs(h.score - s)).toBeLessThan(1e-4);
    }
  });
});

describe('adaptive relevance cut-off', () => {
  /** A query's scores: `background` ordinary images around `bgMean`, plus `matches` at `matchScore`. */
  function scores(seed: number, n: number, bgMean: number, bgSd: number, matches: number[]): { all: number[]; relevant: Set<number> } {
    const g = gaussian(prng(seed));
    const all: number[] = [];
    for (let i = 0; i < n; i++) all.push(bgMean + bgSd * g());
    const relevant = new Set<number>();
    for (const m of matches) {
      relevant.add(all.length);
      all.push(m);
    }
    return { all, relevant };
  }

  /** What the search does: exact scores of the best 500 as the head, a 1024 sample as background. */
  function cut(all: number[], minScore?: number) {
    const head = [...all].sort((a, b) => b - a).slice(0, 500);
    const step = all.length / 1024;
    const sample = Array.from({ length: 1024 }, (_, i) => all[Math.floor(i * step)]);
    return relevanceCutoff(head, backgroundStats(sample), { population: all.length, minScore });
  }

  function kept(all: number[], relevant: Set<number>, threshold: number) {
    let matches = 0;
    let others = 0;
    all.forEach((s, i) => {
      if (s < threshold) return;
      if (relevant.has(i)) matches++;
      else others++;
    });
    return { matches, others };
  }

  it('separates matches from the rest where no single threshold can, for two queries on different scales', () => {
    // Like CLIP: "red car" scores 0.31-0.33 on its 5 photos and ~0.20 on the others; "protesto" scores
    // 0.24-0.25 on its 5 and ~0.12 on the others. 100k images each.
    const a = scores(1, 100_000, 0.2, 0.02, [0.31, 0.315, 0.32, 0.325, 0.33]);
    const b = scores(2, 100_000, 0.12, 0.02, [0.24, 0.242, 0.245, 0.248, 0.25]);
    const ca = cut(a.all);
    const cb = cut(b.all);
    expect(kept(a.all, a.relevant, ca.threshold)).toEqual({ matches: 5, others: 0 });
    expect(kept(b.all, b.relevant, cb.threshold)).toEqual({ matches: 5, others: 0 });
    expect(ca.reason).toBe('gap');
    expect(cb.reason).toBe('gap');
    // A flat threshold would have to sit above every ordinary score of both queries and at or below
    // every match of both: A's best ordinary images outscore B's matches, so no such threshold exists.
    const extremes = (q: { all: number[]; relevant: Set<number> }) => ({
      maxOther: Math.max(...q.all.filter((_, i) => !q.relevant.has(i))),
      minMatch: Math.min(...[...q.relevant].map((i) => q.all[i])),
    });
    const ea = extremes(a);
    const eb = extremes(b);
    expect(Math.max(ea.maxOther, eb.maxOther)).toBeGreaterThan(Math.min(ea.minMatch, eb.minMatch));
  });

  it('keeps every match when many images match, and only the background tail when none does', () => {
    // 400 matches spread smoothly from 0.26 to 0.34: no gap to cut at, all stand out.
    const many = scores(3, 100_000, 0.18, 0.02, Array.from({ length: 400 }, (_, i) => 0.26 + (0.08 * i) / 400));
    const c = cut(many.all);
    expect(kept(many.all, many.relevant, c.threshold).matches).toBe(400);
    expect(c.threshold).toBeGreaterThan(0.18 + 2.5 * 0.02);
    // Nothing matches: the cut-off sits ~3 sd above the typical score; what passes is a thin tail.
    const none = scores(4, 100_000, 0.15, 0.02, []);
    const cn = cut(none.all);
    expect(cn.threshold).toBeGreaterThan(0.15 + 2.5 * 0.02);
    expect(kept(none.all, none.relevant, cn.threshold).others).toBeLessThan(0.005 * 100_000);
  });

  it('does not cut between strong matches (three copies of one photo, then other matches)', () => {
    const s = scores(5, 100_000, 0.2, 0.02, [0.36, 0.36, 0.36, 0.33, 0.328, 0.326, 0.325]);
    const c = cut(s.all);
    expect(kept(s.all, s.relevant, c.threshold)).toEqual({ matches: 7, others: 0 });
  });

  it('reads the background from the lower quantiles, so a library of mostly matches still works', () => {
    // 12 images, 7 of them red: the typical score is that of the 5 others.
    const bg = backgroundStats([0.92, 0.93, 0.92, 0.91, 0.93, 0.92, 0.9, 0.01, 0.0, 0.02, 0.01, 0.0]);
    expect(bg.mean).toBeLessThan(0.1);
    const c = relevanceCutoff([0.93, 0.93, 0.92, 0.92, 0.92, 0.91, 0.9, 0.02, 0.01, 0.01, 0.0, 0.0], bg, { population: 12 });
    expect(c.threshold).toBeGreaterThan(0.02);
    expect(c.threshold).toBeLessThan(0.9);
    // --min-score only raises it.
    expect(relevanceCutoff([0.93], bg, { population: 12, minScore: 0.95 }).threshold).toBe(0.95);
    expect(relevanceCutoff([0.93], bg, { population: 12, minScore: -1 }).threshold).toBe(c.floor);
  });
});

describe('query language', () => {
  it('reads plain text as one query and +/-/N: as terms', () => {
    expect(parseQuery('ônibus queimado perto da ponte')).toEqual([{ text: 'ônibus queimado perto da ponte', weight: 1 }]);
    expect(parseQuery('ônibus queimado +ponte de ferro -noite')).toEqual([
      { text: 'ônibus queimado', weight: 1 },
      { text: 'ponte de ferro', weight: 1 },
      { text: 'noite', weight: -1 },
    ]);
    expect(parseQuery('2:ônibus +0.5:ponte -3:noite')).toEqual([
      { text: 'ônibus', weight: 2 },
      { text: 'ponte', weight: 0.5 },
      { text: 'noite', weight: -3 },
    ]);
    // Hyphens inside words, a lone dash and clock times are text.
    expect(parseQuery('pós-guerra - protesto às 10:30')).toEqual([{ text: 'pós-guerra - protesto às 10:30', weight: 1 }]);
    expect(() => parseQuery('-noite')).toThrow(/at least one term/);
    expect(() => parseQuery('+2:')).toThrow(/needs a term/);
    expect(() => parseQuery('  ')).toThrow(/empty/);
  });

  it('combines terms into one normalized vector', () => {
    const a = Float32Array.from([1, 0, 0]);
    const b = Float32Array.from([0, 1, 0]);
    const v = combineTerms(
      [
        { text: 'a', weight: 3 },
        { text: 'b', weight: -4 },
      ],
      [a, b],
    );
    expect([...v].map((x) => Math.round(x * 1000) / 1000)).toEqual([0.6, -0.8, 0]);
    expect(() => combineTerms([{ text: 'a', weight: 1 }, { text: 'a', weight: -1 }], [a, a])).toThrow(/cancel/);
  });
});
