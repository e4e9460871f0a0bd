// Few-shot labels on stored embeddings: the fit (class means + leave-one-out over the blend grid) and
// re-scoring N images with text + examples, against plain zero-shot scoring of the same matrix in the
// same run (default 100k × 512-d × 10 labels × 16 shots). Images are clustered random unit vectors —
// one cluster per label, text embeddings that know nothing of them — so the leave-one-out picks a
// real blend and the timed path is the few-shot one, not the zero-shot fallback.
import { blendedScores, fitFewShot } from '../src/engine/eval/few-shot.js';
import type { Scoring } from '../src/engine/models/types.js';
import { labelMatrix, scoreMatrix, topIndex } from '../src/engine/sort/scoring.js';
import { Prng } from '../test/support/synthetic/prng.js';
import { flag, median, round } from './_stats.js';

const SOFTMAX: Scoring = { kind: 'softmax', logitScale: 100, logitBias: 0 };

function unitRow(out: Float32Array, offset: number, dim: number, fill: (j: number) => number): void {
  let n = 0;
  for (let j = 0; j < dim; j++) {
    const v = fill(j);
    out[offset + j] = v;
    n += v * v;
  }
  n = Math.sqrt(n);
  for (let j = 0; j < dim; j++) out[offset + j] /= n;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const count = flag(args, 'images', 100_000);
  const labels = flag(args, 'labels', 10);
  const shots = flag(args, 'shots', 16);
  const dim = flag(args, 'dim', 512);
  const repeats = flag(args, 'repeats', 5);
  // Noise per dimension relative to a unit-variance centre: 1.5 leaves clusters overlapping a little.
  const noise = flag(args, 'noise', 1.5);
  const prng = new Prng(42);

  const centres = Array.from({ length: labels }, () => Array.from({ length: dim }, () => prng.gaussian()));
  const truth = new Int32Array(count);
  const images = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const k = i % labels;
    truth[i] = k;
    unitRow(images, i * dim, dim, (j) => centres[k][j] + noise * prng.gaussian());
  }
  const textRows = Array.from({ length: labels }, () => {
    const row = new Float32Array(dim);
    unitRow(row, 0, dim, () => prng.gaussian());
    return row;
  });
  const text = labelMatrix(textRows);
  // The examples are the first `shots` images of each label; the rest are held out.
  const n = labels * shots;
  const examples = images.slice(0, n * dim);
  const exampleLabels = Array.from(truth.subarray(0, n));

  const fitMs: number[] = [];
  let fit = fitFewShot({ labels: centres.map((_, k) => `label-${k}`), text, scoring: SOFTMAX, examples, exampleLabels });
  for (let r = 0; r < repeats; r++) {
    const a = performance.now();
    fit = fitFewShot({ labels: centres.map((_, k) => `label-${k}`), text, scoring: SOFTMAX, examples, exampleLabels });
    fitMs.push(performance.now() - a);
  }

  const zeroMs: number[] = [];
  const fewMs: number[] = [];
  let zero: Float32Array = new Float32Array(0);
  let few: Float32Array = new Float32Array(0);
  for (let r = 0; r < repeats; r++) {
    const a = performance.now();
    zero = scoreMatrix(images, count, text, SOFTMAX);
    const b = performance.now();
    few = blendedScores(fit, images, count, text, SOFTMAX);
    const c = performance.now();
    zeroMs.push(b - a);
    fewMs.push(c - b);
  }
  const accuracy = (scores: Float32Array) => {
    let right = 0;
    for (let i = n; i < count; i++) if (topIndex(scores, i, labels) === truth[i]) right++;
    return right / (count - n);
  };

  return {
    images: count,
    labels,
    shots_per_label: shots,
    dim,
    repeats,
    few_shot_used: fit.summary.used,
    blend: fit.summary.blend,
    fit_ms_median: round(median(fitMs), 3),
    zero_shot_score_ms_median: round(median(zeroMs)),
    few_shot_score_ms_median: round(median(fewMs)),
    few_vs_zero_score_time: round(median(fewMs) / median(zeroMs)),
    held_out_accuracy_zero_shot: round(accuracy(zero), 4),
    held_out_accuracy_few_shot: round(accuracy(few), 4),
    loo_accuracy: round(fit.summary.loo_accuracy, 4),
  };
}
