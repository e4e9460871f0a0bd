import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { encodeLabels } from '../src/engine/sort/label-embeddings.js';
import { UNSURE_LABEL, normalizeLabels, parseLabelList } from '../src/engine/sort/labels.js';
import { findPreset, loadPresets } from '../src/engine/sort/presets.js';
import { cosineMatrixFast } from '../src/engine/sort/gemm.js';
import { cosineMatrix, labelMatrix, scoreMatrix, topIndex, type LabelMatrix } from '../src/engine/sort/scoring.js';
import { sortLibrary, type SortResult } from '../src/engine/sort/sort.js';
import { DEFAULT_TEMPLATES, parseTemplates, promptsForLabel } from '../src/engine/sort/templates.js';
import { colourModelDir } from './support/models.js';
import { withRawDb } from './support/raw-db.js';
import { PHOTO_TREE, tempDir, writePhoto, writePhotoTree } from './support/sort-fixtures.js';

/** The real model, with counters on every call that touches images or texts. */
function counting(model: ClipModel) {
  const counts = { imageEncodes: 0, preprocessed: 0, texts: 0, textCalls: 0 };
  const wrapped: ClipModel = {
    get info() {
      return model.info;
    },
    tokenize: (text) => model.tokenize(text),
    preprocess: (source) => {
      counts.preprocessed++;
      return model.preprocess(source);
    },
    encodeImageTensors: (tensors) => {
      counts.imageEncodes += tensors.length;
      return model.encodeImageTensors(tensors);
    },
    encodeImages: (sources) => {
      counts.imageEncodes += sources.length;
      return model.encodeImages(sources);
    },
    encodeTexts: (texts) => {
      counts.texts += texts.length;
      counts.textCalls++;
      return model.encodeTexts(texts);
    },
    scoreLabels: (image, texts) => model.scoreLabels(image, texts),
    warmup: () => model.warmup(),
    close: () => model.close(),
  };
  return { model: wrapped, counts, reset: () => Object.assign(counts, { imageEncodes: 0, preprocessed: 0, texts: 0, textCalls: 0 }) };
}

const EXPECTED_PT: Record<string, string> = { red: 'vermelho', green: 'verde', blue: 'azul' };

function labelsByRelPath(root: string, result: SortResult): Record<string, string> {
  return Object.fromEntries(result.results.map((r) => [path.relative(root, r.file.path), r.label]));
}

describe('sortLibrary on an indexed nested folder', () => {
  let root: string;
  let photos: string;
  let library: Library;
  let base: ClipModel;
  let spy: ReturnType<typeof counting>;

  beforeAll(async () => {
    root = tempDir('sort');
    photos = path.join(root, 'fotos');
    await writePhotoTree(photos);
    // Between red and blue: scores split, so it is the one a threshold should catch.
    await writePhoto(path.join(photos, 'ambígua/meio.png'), [150, 30, 150], 99);
    base = await loadModel(await colourModelDir(), { device: 'cpu' });
    spy = counting(base);
    library = Library.open(path.join(root, 'lib.sqlite'));
    const summary = await indexFolders({ library, model: spy.model, folders: [photos], thumbnails: false });
    expect(summary.failed).toEqual([]);
  });

  afterAll(async () => {
    library?.close();
    await base?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('puts every photo of the tree under its Portuguese colour label', async () => {
    const result = await sortLibrary({ library, model: base, labels: ['vermelho', 'verde', 'azul'] });
    const got = labelsByRelPath(photos, result);
    for (const [rel, colour] of Object.entries(PHOTO_TREE)) expect(got[rel], rel).toBe(EXPECTED_PT[colour]);
    expect(result.labels).toEqual(['vermelho', 'verde', 'azul']);
    expect(result.results).toHaveLength(Object.keys(PHOTO_TREE).length + 1);
    expect(result.unembedded).toEqual([]);
  });

  it('sorts the same photos with English labels, in any order', async () => {
    const result = await sortLibrary({ library, model: base, labels: ['blue', 'red', 'green'] });
    const got = labelsByRelPath(photos, result);
    for (const [rel, colour] of Object.entries(PHOTO_TREE)) expect(got[rel], rel).toBe(colour);
  });

  it('re-sorting with new labels encodes only label texts, never an image', async () => {
    spy.reset();
    const labels = ['amarelo', 'vermelho', 'azul', 'verde'];
    const result = await sortLibrary({ library, model: spy.model, labels });
    expect(spy.counts.imageEncodes).toBe(0);
    expect(spy.counts.preprocessed).toBe(0);
    // One batched text call: every label in every default template.
    expect(spy.counts.textCalls).toBe(1);
    expect(spy.counts.texts).toBe(labels.length * DEFAULT_TEMPLATES.length);
    expect(result.results.length).toBeGreaterThan(0);
  });

  it('the counter above does see image encodes when there are any (indexing a new photo)', async () => {
    spy.reset();
    await writePhoto(path.join(photos, 'novo/vermelho.jpg'), 'red', 1234);
    await indexFolders({ library, model: spy.model, folders: [photos], thumbnails: false });
    expect(spy.counts.imageEncodes).toBe(1);
  });

  it('reports every label score, the top one being the label, and scores as the model does', async () => {
    const labels = ['vermelho', 'verde', 'azul'];
    const result = await sortLibrary({ library, model: base, labels });
    const textEmbeddings = await encodeLabels(base, labels, DEFAULT_TEMPLATES);
    const key = library.modelKey(base.info);
    for (const r of result.results) {
      expect(Object.keys(r.scores)).toEqual(labels);
      const best = labels.reduce((a, b) => (r.scores[b] > r.scores[a] ? b : a));
      expect(r.label).toBe(best);
      expect(r.score).toBe(r.scores[best]);
      const sum = labels.reduce((s, l) => s + r.scores[l], 0);
      if (base.info.scoring.kind === 'softmax') expect(sum).toBeCloseTo(1, 5);
      const reference = base.scoreLabels(library.getEmbedding(key, r.file.contentId)!, textEmbeddings);
      labels.forEach((l, i) => expect(r.scores[l]).toBeCloseTo(reference[i], 5));
    }
  });

  it('sends images below the threshold to "unsure" and keeps their best score', async () => {
    const labels = ['vermelho', 'azul'];
    const plain = await sortLibrary({ library, model: base, labels });
    const scores = plain.results.map((r) => r.score);
    const lo = Math.min(...scores);
    const hi = Math.max(...scores);
    expect(lo).toBeLessThan(hi);
    const threshold = (lo + hi) / 2;
    const cut = await sortLibrary({ library, model: base, labels, threshold });
    const before = new Map(plain.results.map((r) => [r.file.path, r]));
    let unsure = 0;
    for (const r of cut.results) {
      const p = before.get(r.file.path)!;
      expect(r.score).toBeCloseTo(p.score, 6);
      if (p.score < threshold) {
        expect(r.label).toBe(UNSURE_LABEL);
        unsure++;
      } else expect(r.label).toBe(p.label);
    }
    expect(unsure).toBeGreaterThan(0);
    expect(unsure).toBeLessThan(cut.results.length);
    const ambiguous = cut.results.find((r) => r.file.path.endsWith('meio.png'))!;
    expect(ambiguous.label).toBe(UNSURE_LABEL);
  });

  it('persists each run and its per-content results', async () => {
    const result = await sortLibrary({ library, model: base, labels: ['verde', 'azul', 'vermelho'], threshold: 0.2 });
    const raw = (sql: string) => withRawDb(library.file, (db) => db.prepare(sql).all(result.runId));
    const run = raw('SELECT model_key, labels, threshold FROM sort_runs WHERE id = ?')[0] as {
      model_key: string;
      labels: string;
      threshold: number;
    };
    expect(run).toEqual({ model_key: library.modelKey(base.info), labels: JSON.stringify(['verde', 'azul', 'vermelho']), threshold: 0.2 });
    const rows = raw('SELECT content_id, label, score FROM sort_results WHERE run_id = ?') as {
      content_id: number;
      label: string;
      score: number;
    }[];
    expect(rows).toHaveLength(new Set(result.results.map((r) => r.file.contentId)).size);
    for (const r of result.results) {
      const row = rows.find((x) => x.content_id === r.file.contentId)!;
      expect(row.label).toBe(r.label);
      expect(row.score).toBeCloseTo(r.score, 6);
    }
  });

  it('sorts only the contents asked for', async () => {
    const blue = library.listFiles({ folders: [path.join(photos, 'arquivo')] });
    expect(blue).toHaveLength(1);
    const result = await sortLibrary({ library, model: base, labels: ['vermelho', 'azul'], contentIds: [blue[0].contentId] });
    expect(result.results.map((r) => r.file.path)).toEqual([blue[0].path]);
    expect(result.results[0].label).toBe('azul');
    const red = library.listFiles({ folders: [path.join(photos, 'viagem')] }).filter((f) => f.name === 'foto.jpg');
    const byFiles = await sortLibrary({ library, model: base, labels: ['vermelho', 'azul'], files: red });
    expect(byFiles.results.map((r) => [r.file.path, r.label])).toEqual([[path.join(photos, 'viagem/foto.jpg'), 'vermelho']]);
  });

  it('uses a label holding {} as its own whole prompt and custom templates for the rest', async () => {
    spy.reset();
    const result = await sortLibrary({
      library,
      model: spy.model,
      labels: ['uma foto de cor vermelho {}', 'green', 'blue'],
      templates: ['a photo of {}'],
    });
    expect(spy.counts.texts).toBe(3);
    const got = labelsByRelPath(photos, result);
    expect(got['viagem/foto.jpg']).toBe('uma foto de cor vermelho {}');
    expect(got['céu azul.webp']).toBe('blue');
  });

  it('rejects empty, duplicate and reserved label lists', async () => {
    await expect(sortLibrary({ library, model: base, labels: [' ', ''] })).rejects.toThrow(/no labels/);
    await expect(sortLibrary({ library, model: base, labels: ['azul', 'Azul'] })).rejects.toThrow(/twice/);
    await expect(sortLibrary({ library, model: base, labels: ['azul', 'unsure'], threshold: 0.5 })).rejects.toThrow(/reserved/);
    await expect(sortLibrary({ library, model: base, labels: ['azul'], templates: ['no placeholder'] })).rejects.toThrow(/\{\}/);
  });
});

describe('sortLibrary with a SigLIP model (sigmoid scores)', () => {
  it('sorts by the family\'s own scoring: independent sigmoids with a bias', async () => {
    const root = tempDir('sort-siglip');
    const model = await loadModel(await colourModelDir('siglip'), { device: 'cpu' });
    const library = Library.open(path.join(root, 'lib.sqlite'));
    try {
      expect(model.info.scoring.kind).toBe('sigmoid');
      await writePhotoTree(path.join(root, 'fotos'));
      await indexFolders({ library, model, folders: [path.join(root, 'fotos')], thumbnails: false });
      const labels = ['vermelho', 'verde', 'azul'];
      const result = await sortLibrary({ library, model, labels });
      const got = labelsByRelPath(path.join(root, 'fotos'), result);
      for (const [rel, colour] of Object.entries(PHOTO_TREE)) expect(got[rel], rel).toBe(EXPECTED_PT[colour]);
      const text = await encodeLabels(model, labels, DEFAULT_TEMPLATES);
      for (const r of result.results) {
        const reference = model.scoreLabels(library.getEmbedding(library.modelKey(model.info), r.file.contentId)!, text);
        labels.forEach((l, i) => expect(r.scores[l]).toBeCloseTo(reference[i], 5));
      }
    } finally {
      library.close();
      await model.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('label lists, templates and presets', () => {
  it('splits comma-separated labels, keeping accents and quoted commas', () => {
    expect(parseLabelList('arma ou veículo militar, meme,documento ,, "carro, moto"')).toEqual([
      'arma ou veículo militar',
      'meme',
      'documento',
      'carro, moto',
    ]);
    expect(parseLabelList('"say ""hi"""')).toEqual(['say "hi"']);
    expect(() => parseLabelList('"open, quote')).toThrow(/unclosed/);
  });

  it('NFC-normalizes labels so a decomposed "é" equals a composed one', () => {
    expect(normalizeLabels(['pre\u0301dio'])).toEqual(['prédio']);
    expect(() => normalizeLabels(['prédio', 'pre\u0301dio'])).toThrow(/twice/);
  });

  it('expands templates, uses {} labels verbatim, and validates template lists', () => {
    expect(promptsForLabel('mapa', ['a photo of {}', 'uma foto de {}'])).toEqual(['a photo of mapa', 'uma foto de mapa']);
    expect(promptsForLabel('satellite image of {} a city', DEFAULT_TEMPLATES)).toEqual(['satellite image of a city']);
    expect(parseTemplates(' a photo of {} ; uma foto de {};')).toEqual(['a photo of {}', 'uma foto de {}']);
    expect(() => parseTemplates('a photo of')).toThrow(/"\{\}"/);
    expect(DEFAULT_TEMPLATES.some((t) => t.startsWith('uma'))).toBe(true);
    expect(DEFAULT_TEMPLATES.some((t) => t.startsWith('a '))).toBe(true);
  });

  it('ships valid pt-BR and English presets including OSINT triage', () => {
    const presets = loadPresets();
    expect(new Set(presets.map((p) => p.language))).toEqual(new Set(['pt-BR', 'en']));
    expect(new Set(presets.map((p) => p.name)).size).toBe(presets.length);
    for (const p of presets) expect(normalizeLabels(p.labels, 0.5)).toEqual(p.labels);
    const osint = findPreset('osint');
    expect(osint.labels).toEqual(expect.arrayContaining(['arma ou veículo militar', 'documento', 'meme', 'captura de tela', 'mapa', 'prédio destruído']));
    expect(() => findPreset('nope')).toThrow(/unknown preset "nope"; available: osint/);
  });
});

describe('scoreMatrix', () => {
  const dim = 7;
  const unit = (seed: number) => {
    const v = Float32Array.from({ length: dim }, (_, i) => Math.sin(seed * 13.1 + i * 2.7));
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };

  it('computes every image × label dot product, whatever the block remainders', () => {
    for (const rows of [1, 3, 4, 7, 9]) {
      for (const count of [1, 2, 5, 6]) {
        const images = new Float32Array(rows * dim);
        for (let r = 0; r < rows; r++) images.set(unit(r + 1), r * dim);
        const labels = Array.from({ length: count }, (_, i) => unit(100 + i));
        const out = cosineMatrix(images, rows, labelMatrix(labels));
        for (let r = 0; r < rows; r++) {
          for (let k = 0; k < count; k++) {
            const expected = labels[k].reduce((s, x, i) => s + x * images[r * dim + i], 0);
            expect(out[r * count + k], `${rows}×${count} [${r},${k}]`).toBeCloseTo(expected, 6);
          }
        }
      }
    }
  });

  it('matches softmax and sigmoid scoring of one image at a time', () => {
    const rows = 7;
    const images = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) images.set(unit(r + 1), r * dim);
    const labels = Array.from({ length: 5 }, (_, i) => unit(100 + i));
    for (const scoring of [
      { kind: 'softmax' as const, logitScale: 100, logitBias: 0 },
      { kind: 'sigmoid' as const, logitScale: 117.33, logitBias: -12.93 },
    ]) {
      const out = scoreMatrix(images, rows, labelMatrix(labels), scoring);
      for (let r = 0; r < rows; r++) {
        const img = images.subarray(r * dim, (r + 1) * dim);
        const logits = labels.map((t) => t.reduce((s, x, i) => s + x * img[i], 0) * scoring.logitScale + scoring.logitBias);
        const expected =
          scoring.kind === 'sigmoid'
            ? logits.map((l) => 1 / (1 + Math.exp(-l)))
            : logits.map((l) => Math.exp(l - Math.max(...logits))).map((e, _, all) => e / all.reduce((a, b) => a + b, 0));
        expected.forEach((e, k) => expect(out[r * labels.length + k]).toBeCloseTo(e, 5));
      }
    }
  });

  it('on a library-sized matrix, ONNX Runtime\'s GEMM gives the JavaScript kernel\'s cosines and the same top labels', async () => {
    const rows = 6000;
    const d = 512;
    const count = 10;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const unitRows = (n: number) => {
      const m = new Float32Array(n * d);
      for (let r = 0; r < n; r++) {
        let norm = 0;
        for (let i = 0; i < d; i++) norm += (m[r * d + i] = rand()) ** 2;
        for (let i = 0; i < d; i++) m[r * d + i] /= Math.sqrt(norm);
      }
      return m;
    };
    // One spare row past `rows`: the native path must read only the rows it is told.
    const images = unitRows(rows + 1);
    const labels: LabelMatrix = { count, dim: d, data: unitRows(count) };
    expect(rows * count * d).toBeGreaterThan(1 << 24);
    const fast = await cosineMatrixFast(images, rows, labels);
    const slow = cosineMatrix(images, rows, labels);
    expect(fast.length).toBe(rows * count);
    let worst = 0;
    for (let i = 0; i < slow.length; i++) worst = Math.max(worst, Math.abs(fast[i] - slow[i]));
    expect(worst).toBeLessThan(1e-5);
    let differ = 0;
    for (let r = 0; r < rows; r++) {
      if (topIndex(fast, r, count) !== topIndex(slow, r, count)) {
        differ++;
        expect(Math.abs(slow[r * count + topIndex(fast, r, count)] - slow[r * count + topIndex(slow, r, count)])).toBeLessThan(1e-5);
      }
    }
    expect(differ).toBeLessThan(3);
    // Small matrices keep the JavaScript kernel, exactly.
    expect(await cosineMatrixFast(images, 3, labels)).toEqual(cosineMatrix(images, 3, labels));
  });
});
