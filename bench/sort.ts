// Re-sorting an indexed library: N stored 512-d embeddings × L labels (targets: 100k × 10 ≤ 1 s when
// the app keeps the embeddings in memory between sorts; ≤ 2 s from cold). The library is filled with random unit vectors (scores, not semantics); the colour
// model encodes the label texts, as a real model would. Also times the matrix scorer against
// calling model.scoreLabels once per image, in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import { encodeLabels } from '../src/engine/sort/label-embeddings.js';
import { scoreMatrixFast } from '../src/engine/sort/gemm.js';
import { labelMatrix, scoreMatrix } from '../src/engine/sort/scoring.js';
import { sortLibrary } from '../src/engine/sort/sort.js';
import { DEFAULT_TEMPLATES } from '../src/engine/sort/templates.js';
import { Prng } from '../test/support/synthetic/prng.js';
import { colourModelDir } from '../test/support/models.js';
import { flag, median, round } from './_stats.js';

const LABELS = ['vermelho', 'verde', 'azul', 'amarelo', 'preto', 'branco', 'laranja', 'roxo', 'rosa', 'marrom', 'cinza', 'red'];

function fillLibrary(library: Library, key: string, dim: number, count: number): void {
  const prng = new Prng(7);
  const noMeta = { takenAt: null, gpsLat: null, gpsLon: null, camera: null };
  library.transaction(() => {
    for (let i = 1; i <= count; i++) {
      const folder = `/fotos/pasta-${i % 100}`;
      const id = library.upsertContent({ sha256: i.toString(16).padStart(64, '0'), size: 1000, format: 'jpeg', width: 64, height: 64 });
      if (id !== i) throw new Error(`content ${i} got id ${id}: the library was not empty`);
      library.upsertFile({ path: `${folder}/img-${i}.jpg`, ext: 'jpg', size: 1000, mtimeMs: 0, meta: noMeta }, id, 0);
    }
  });
  library.ensureModel(key, dim);
  for (let start = 1; start <= count; start += 5000) {
    const rows: { contentId: number; vector: Float32Array }[] = [];
    for (let id = start; id < Math.min(count + 1, start + 5000); id++) {
      const v = new Float32Array(dim);
      let n = 0;
      for (let d = 0; d < dim; d++) {
        v[d] = prng.gaussian();
        n += v[d] * v[d];
      }
      n = Math.sqrt(n);
      for (let d = 0; d < dim; d++) v[d] /= n;
      rows.push({ contentId: id, vector: v });
    }
    library.putEmbeddings(key, rows);
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const count = flag(args, 'images', 100_000);
  const labelCount = flag(args, 'labels', 10);
  const repeats = flag(args, 'repeats', 5);
  const labels = LABELS.slice(0, labelCount);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-sort-'));
  const model = await loadModel(await colourModelDir(), { device: 'cpu' });
  const library = Library.open(path.join(dir, 'lib.sqlite'));
  try {
    const key = library.modelKey(model.info);
    const dim = model.info.dim;
    const t0 = performance.now();
    fillLibrary(library, key, dim, count);
    const fillMs = performance.now() - t0;

    await encodeLabels(model, labels, DEFAULT_TEMPLATES); // warm the text session
    const total: number[] = [];
    const textMs: number[] = [];
    const loadMs: number[] = [];
    const scoreMs: number[] = [];
    const nativeScoreMs: number[] = [];
    let results = 0;
    for (let r = 0; r < repeats; r++) {
      const a = performance.now();
      const result = await sortLibrary({ library, model, labels });
      total.push(performance.now() - a);
      results = result.results.length;
      // The parts, timed separately on the same data.
      const b = performance.now();
      const text = await encodeLabels(model, labels, DEFAULT_TEMPLATES);
      const c = performance.now();
      const matrix = library.loadEmbeddings(key);
      const d = performance.now();
      scoreMatrix(matrix.data, matrix.contentIds.length, labelMatrix(text), model.info.scoring);
      const e = performance.now();
      await scoreMatrixFast(matrix.data, matrix.contentIds.length, labelMatrix(text), model.info.scoring);
      const g = performance.now();
      textMs.push(c - b);
      loadMs.push(d - c);
      scoreMs.push(e - d);
      nativeScoreMs.push(g - e);
    }

    // Re-sorting in an open app: the embeddings were read once and kept (AppContext.embeddingMatrix),
    // so a re-sort is label texts + scoring + the per-file results. Issue J's target: ≤ 1 s at 100k.
    const matrix = library.loadEmbeddings(key);
    const kept: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const a = performance.now();
      await sortLibrary({ library, model, labels, embeddings: matrix });
      kept.push(performance.now() - a);
    }

    // The per-image API on the same matrix, for the ratio (one pass; it is the slow path).
    const text = await encodeLabels(model, labels, DEFAULT_TEMPLATES);
    const f = performance.now();
    for (let i = 0; i < matrix.contentIds.length; i++) model.scoreLabels(matrix.data.subarray(i * dim, (i + 1) * dim), text);
    const perImageMs = performance.now() - f;

    const medianTotal = median(total);
    return {
      images: count,
      labels: labelCount,
      dim,
      results,
      repeats,
      fill_library_s: round(fillMs / 1000),
      sort_total_ms_median: round(medianTotal),
      label_text_encode_ms_median: round(median(textMs)),
      load_embeddings_ms_median: round(median(loadMs)),
      score_matrix_ms_median: round(median(scoreMs)),
      // What sortLibrary uses at this size: ONNX Runtime's GEMM (sort/gemm.ts), all cores.
      score_matrix_native_ms_median: round(median(nativeScoreMs)),
      per_image_scoreLabels_ms: round(perImageMs),
      matrix_vs_per_image_speedup: round(perImageMs / median(scoreMs)),
      resort_embeddings_kept_ms_median: round(median(kept)),
      resort_target_ms: 1000,
      meets_resort_target: median(kept) <= 1000,
      cold_sort_target_ms: 2000,
      meets_cold_target: medianTotal <= 2000,
    };
  } finally {
    library.close();
    await model.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
