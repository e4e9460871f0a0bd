// Identical and near-identical images: real re-encoded and resized JPEGs indexed with the colour model,
// and a synthetic library large enough for the LSH path, checked against brute force.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticEmbeddings, addSyntheticImages } from '../bench/_search-synthetic.js';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { ALL_PAIRS_LIMIT, compareRepresentative, findDuplicates } from '../src/engine/duplicates/duplicates.js';
import { persistVectorIndex } from '../src/engine/vectors/code-store.js';
import { colour, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { runCli } from './support/cli.js';

const run = runCli;

describe('duplicates in an indexed library (colour model)', () => {
  let root: string;
  let photos: string;
  let libFile: string;
  let modelDir: string;
  let model: ClipModel;
  let library: Library;

  beforeAll(async () => {
    root = tempDir('duplicates');
    photos = path.join(root, 'fotos');
    await writeImage(path.join(photos, 'original.jpg'), colour('orange'), { width: 96, height: 72, seed: 1, exif: { IFD2: { DateTimeOriginal: '2022:01:01 10:00:00' } } });
    const original = fs.readFileSync(path.join(photos, 'original.jpg'));
    // Re-saved at a much lower JPEG quality (same size, EXIF dropped), and a half-size copy.
    await sharp(original).jpeg({ quality: 30 }).toFile(path.join(photos, 'recomprimida.jpg'));
    fs.mkdirSync(path.join(photos, 'pequena'), { recursive: true });
    await sharp(original).resize(48, 36).jpeg({ quality: 90 }).toFile(path.join(photos, 'pequena/reduzida.jpg'));
    await writeImage(path.join(photos, 'verde.png'), colour('green'), { seed: 2 });
    fs.mkdirSync(path.join(photos, 'outra'), { recursive: true });
    fs.copyFileSync(path.join(photos, 'verde.png'), path.join(photos, 'outra/cópia exata.png'));
    await writeImage(path.join(photos, 'azul.jpg'), colour('blue'), { seed: 3 });
    await writeImage(path.join(photos, 'amarelo.jpg'), colour('yellow'), { seed: 4 });
    modelDir = await colourModelDir();
    model = await loadModel(modelDir, { device: 'cpu' });
    libFile = path.join(root, 'lib.sqlite');
    library = Library.open(libFile);
    const summary = await indexFolders({ library, model, folders: [photos], thumbnails: false });
    expect(summary.failed).toEqual([]);
  });

  afterAll(async () => {
    library?.close();
    await model?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('groups re-encoded and resized copies, and exact copies by sha256, each with a representative', () => {
    const key = library.modelKey(model.info);
    const report = findDuplicates(library, key);
    expect(report.method).toBe('all-pairs');
    const rel = (p: string) => path.relative(photos, p);
    const near = report.groups.filter((g) => g.kind === 'near');
    const exact = report.groups.filter((g) => g.kind === 'exact');
    expect(near).toHaveLength(1);
    expect(near[0].files.map((f) => rel(f.path))).toEqual(['original.jpg', 'recomprimida.jpg', 'pequena/reduzida.jpg']);
    expect(rel(near[0].representative.path)).toBe('original.jpg');
    expect(near[0].contents).toBe(3);
    expect(near[0].similarity).toBeGreaterThanOrEqual(0.95);
    expect(exact).toHaveLength(1);
    expect(exact[0].files.map((f) => rel(f.path)).sort()).toEqual(['outra/cópia exata.png', 'verde.png']);
    expect(exact[0].similarity).toBe(1);
    expect(new Set(exact[0].files.map((f) => f.sha256)).size).toBe(1);
    // Unrelated photos are in no group.
    const grouped = report.groups.flatMap((g) => g.files.map((f) => rel(f.path)));
    expect(grouped).not.toContain('azul.jpg');
    expect(grouped).not.toContain('amarelo.jpg');
    // Only near groups when asked.
    expect(findDuplicates(library, key, { exact: false }).groups.every((g) => g.kind === 'near')).toBe(true);
  });

  it('picks the largest image first, then the earliest', () => {
    const base = { id: 1, folder: '/', name: 'x', ext: 'jpg', size: 1, contentId: 1, sha256: 'a', format: null, gpsLat: null, gpsLon: null, camera: null };
    const big = { ...base, path: '/z.jpg', width: 200, height: 100, takenAt: null, mtimeMs: 5 };
    const small = { ...base, path: '/a.jpg', width: 100, height: 100, takenAt: 1, mtimeMs: 1 };
    const early = { ...base, path: '/y.jpg', width: 200, height: 100, takenAt: 10, mtimeMs: 9 };
    expect([small, big, early].sort(compareRepresentative).map((f) => f.path)).toEqual(['/y.jpg', '/z.jpg', '/a.jpg']);
  });

  it('CLI: duplicates --json and the human listing', async () => {
    const r = await run(['duplicates', '--library', libFile, '--model', modelDir, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { threshold: number; groups: { kind: string; representative: string; files: { path: string; sha256: string }[] }[] };
    expect(json.threshold).toBe(0.95);
    expect(json.groups.map((g) => g.kind).sort()).toEqual(['exact', 'near']);
    const near = json.groups.find((g) => g.kind === 'near');
    expect(near?.representative).toBe(path.join(photos, 'original.jpg'));
    expect(near?.files[0].path).toBe(near?.representative);
    const human = await run(['duplicates', '--library', libFile, '--model', modelDir]);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/near-identical \(≥ [01]\.\d{3}\), 3 files\n {2}\* .*original\.jpg \(96×72\)/);
    expect(human.out).toMatch(/identical, 2 files/);
    for (const bad of ['0', '1.5', 'x']) expect((await run(['duplicates', '--library', libFile, '--model', modelDir, '--threshold', bad])).code).toBe(2);
  });
});

describe('near-duplicates at scale (LSH over the stored signatures)', () => {
  const dim = 128;
  const key = 'synthetic:fp32';
  let root: string;
  let library: Library;

  beforeAll(() => {
    root = tempDir('duplicates-lsh');
    library = Library.open(path.join(root, 'lib.sqlite'));
  });
  afterAll(() => {
    library?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('finds every planted near-duplicate, nothing else, and agrees with brute force', () => {
    const gen = new SyntheticEmbeddings({ dim, clusters: 150, seed: 31 });
    const n = ALL_PAIRS_LIMIT + 1500;
    const { data } = gen.images(n);
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) rows.push(data.subarray(i * dim, (i + 1) * dim));
    // 60 copies at cosine 0.97 (re-encodes), 15 chains a–b–c (each link 0.97), 40 look-alikes at 0.88.
    const planted: [number, number][] = [];
    const lookAlikes: [number, number][] = [];
    for (let i = 0; i < 60; i++) {
      rows.push(gen.nearCopy(rows[i * 7], 0.97));
      planted.push([i * 7, rows.length - 1]);
    }
    for (let i = 0; i < 15; i++) {
      const a = 1000 + i * 11;
      rows.push(gen.nearCopy(rows[a], 0.97));
      const b = rows.length - 1;
      rows.push(gen.nearCopy(rows[b], 0.97));
      planted.push([a, b], [b, rows.length - 1]);
    }
    for (let i = 0; i < 40; i++) {
      rows.push(gen.nearCopy(rows[2000 + i * 5], 0.88));
      lookAlikes.push([2000 + i * 5, rows.length - 1]);
    }
    const all = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => all.set(r, i * dim));
    const ids = addSyntheticImages(library, key, all, dim);
    persistVectorIndex(library, key);

    const report = findDuplicates(library, key, { threshold: 0.95 });
    expect(report.method).toBe('lsh');
    const groupOf = new Map<number, number>();
    report.groups.forEach((g, gi) => {
      for (const f of g.files) groupOf.set(f.contentId, gi);
    });
    for (const [a, b] of planted) {
      expect(groupOf.get(ids[a]), `${a}-${b}`).toBeDefined();
      expect(groupOf.get(ids[a])).toBe(groupOf.get(ids[b]));
    }
    for (const [a, b] of lookAlikes) {
      if (groupOf.has(ids[a]) && groupOf.has(ids[b])) expect(groupOf.get(ids[a])).not.toBe(groupOf.get(ids[b]));
    }
    // The chains are single groups of three.
    expect(report.groups.filter((g) => g.contents === 3)).toHaveLength(15);

    // Brute force over every pair finds exactly the same linked pairs.
    const truth = new Set<string>();
    for (let i = 0; i < rows.length; i++) {
      for (let j = i + 1; j < rows.length; j++) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += rows[i][k] * rows[j][k];
        if (s >= 0.95) truth.add(`${ids[i]}-${ids[j]}`);
      }
    }
    expect(truth.size).toBeGreaterThanOrEqual(planted.length);
    for (const pair of truth) {
      const [a, b] = pair.split('-').map(Number);
      expect(groupOf.get(a)).toBe(groupOf.get(b));
    }
    // Far fewer exact comparisons than all pairs (this synthetic data is the hard case: near-copies
    // made with isotropic noise flip many sign bits; the benchmark measures the cost at scale).
    expect(report.pairsChecked).toBeLessThan((rows.length * (rows.length - 1)) / 2 / 10);

    // A lower threshold also links the look-alikes.
    const loose = findDuplicates(library, key, { threshold: 0.85 });
    const looseGroup = new Map<number, number>();
    loose.groups.forEach((g, gi) => g.files.forEach((f) => looseGroup.set(f.contentId, gi)));
    for (const [a, b] of lookAlikes) expect(looseGroup.get(ids[a])).toBe(looseGroup.get(ids[b]));
  });
});
