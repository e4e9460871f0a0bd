import { TriagemError } from '../errors.js';
import { UNSURE_LABEL } from '../sort/labels.js';

/** One image: what a person says it is, and what the model (or a second person) said. */
export interface LabelPair {
  truth: string;
  predicted: string;
}

export interface LabelMetrics {
  /** Of the images predicted as this label, the share that truly are. 0 when none was predicted. */
  precision: number;
  /** Of the images truly of this label, the share predicted as it. 0 when the truth has none. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
  /** Images truly of this label. */
  support: number;
  /** Images predicted as this label. */
  predicted: number;
}

export interface Kappa {
  /** Cohen's kappa; null when it is undefined (see `note`). */
  kappa: number | null;
  /** Share of images both gave the same label. */
  observed: number;
  /** Share expected to agree by chance, from each side's own label frequencies. */
  expected: number;
  /** Why kappa is null, or null. */
  note: string | null;
}

/**
 * Everything a metrics table, a confusion heat map and (with `ThresholdSweep`) a P/R curve need. Keys
 * are the JSON keys of `triagem eval --json`, so the CLI prints this object as it is.
 */
export interface ClassificationReport {
  /** Images compared. */
  n: number;
  /** Rows of the confusion matrix and keys of `per_label`: truth labels, then labels only predicted. */
  labels: string[];
  /** Columns of the confusion matrix: `labels`, plus `unsure` when some image went there. */
  columns: string[];
  accuracy: number;
  /** Mean F1 over the labels that occur in the truth or the predictions (`unsure` is not a label). */
  macro_f1: number;
  kappa: number | null;
  kappa_note: string | null;
  /** Always predicting the truth's most frequent label (ties: the first in `labels`). */
  baseline_label: string;
  baseline_accuracy: number;
  baseline_macro_f1: number;
  per_label: Record<string, LabelMetrics>;
  /** truth → predicted → count, dense over `labels` × `columns` so zeros are explicit. */
  confusion: Record<string, Record<string, number>>;
}

/**
 * Cohen's kappa of a square agreement matrix (rows: one rater, columns: the other), computed on the
 * integer counts — κ = (n·Σc_kk − Σ r_k·c_k) / (n² − Σ r_k·c_k) — so perfect agreement is exactly 1
 * and chance-level agreement exactly 0, with no rounding drift.
 *
 * When both raters put every image under one and the same label, chance agreement is 100 % and kappa
 * is 0/0: it is returned as null with a note rather than as 1 (agreement that could not have been
 * otherwise says nothing about the raters) or NaN (which JSON cannot carry).
 */
export function cohensKappa(matrix: readonly (readonly number[])[]): Kappa {
  const k = matrix.length;
  let n = 0;
  let diagonal = 0;
  const rows = new Array<number>(k).fill(0);
  const cols = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    if (matrix[i].length !== k) throw new Error(`agreement matrix is not square: row ${i} has ${matrix[i].length} of ${k}`);
    for (let j = 0; j < k; j++) {
      const c = matrix[i][j];
      n += c;
      rows[i] += c;
      cols[j] += c;
      if (i === j) diagonal += c;
    }
  }
  if (n === 0) throw new TriagemError('nothing to compare: no image has both labels', 'eval-empty');
  let chance = 0;
  for (let i = 0; i < k; i++) chance += rows[i] * cols[i];
  const observed = diagonal / n;
  const expected = chance / (n * n);
  const denominator = n * n - chance;
  if (denominator === 0) {
    return {
      kappa: null,
      observed,
      expected,
      note: 'both sides gave every image the same single label: agreement by chance is 100 %, so kappa is undefined',
    };
  }
  return { kappa: (n * diagonal - chance) / denominator, observed, expected, note: null };
}

/** Landis & Koch (1977) bands, the words journalism trainers use next to the number. */
export function kappaBand(kappa: number | null): string | null {
  if (kappa === null) return null;
  if (kappa < 0) return 'worse than chance';
  if (kappa <= 0.2) return 'slight';
  if (kappa <= 0.4) return 'fair';
  if (kappa <= 0.6) return 'moderate';
  if (kappa <= 0.8) return 'substantial';
  return 'almost perfect';
}

/**
 * Accuracy, per-label precision/recall/F1/support, macro-F1, the confusion matrix, Cohen's kappa and
 * the majority-class baseline of `pairs`. `labels` fixes the order (e.g. the truth's labels); labels
 * met in `pairs` but not listed are appended. An `unsure` prediction is always wrong and gets a
 * confusion column, not a row.
 */
export function classificationReport(pairs: readonly LabelPair[], labels: readonly string[] = []): ClassificationReport {
  const n = pairs.length;
  if (n === 0) throw new TriagemError('nothing to compare: no image has both a true and a predicted label', 'eval-empty');
  const order: string[] = [];
  const seen = new Set<string>();
  const add = (l: string) => {
    if (l === UNSURE_LABEL || seen.has(l)) return;
    seen.add(l);
    order.push(l);
  };
  labels.forEach(add);
  for (const p of pairs) add(p.truth);
  for (const p of pairs) add(p.predicted);
  const anyUnsure = pairs.some((p) => p.predicted === UNSURE_LABEL);
  const columns = anyUnsure ? [...order, UNSURE_LABEL] : [...order];
  const index = new Map(columns.map((l, i) => [l, i]));
  // Square over columns (an `unsure` row stays empty) so kappa sees the same categories on both sides.
  const matrix = columns.map(() => new Array<number>(columns.length).fill(0));
  let correct = 0;
  for (const p of pairs) {
    if (p.truth === UNSURE_LABEL) throw new Error('a ground truth of "unsure" cannot be scored; leave it out first');
    matrix[index.get(p.truth)!][index.get(p.predicted)!]++;
    if (p.truth === p.predicted) correct++;
  }

  const perLabel: [string, LabelMetrics][] = order.map((label, i) => {
    const tp = matrix[i][i];
    const support = matrix[i].reduce((s, c) => s + c, 0);
    const predicted = matrix.reduce((s, row) => s + row[i], 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return [label, { precision, recall, f1, support, predicted }];
  });
  const counted = perLabel.filter(([, m]) => m.support > 0 || m.predicted > 0);
  const macroF1 = counted.reduce((s, [, m]) => s + m.f1, 0) / counted.length;

  let baseline = perLabel[0];
  for (const entry of perLabel) if (entry[1].support > baseline[1].support) baseline = entry;
  const share = baseline[1].support / n;
  const truthLabels = perLabel.filter(([, m]) => m.support > 0).length;
  // The constant predictor: precision = its share, recall 1 on its label, 0 on every other.
  const baselineMacroF1 = (2 * share) / (1 + share) / truthLabels;

  const kappa = cohensKappa(matrix);
  return {
    n,
    labels: order,
    columns,
    accuracy: correct / n,
    macro_f1: macroF1,
    kappa: kappa.kappa,
    kappa_note: kappa.note,
    baseline_label: baseline[0],
    baseline_accuracy: share,
    baseline_macro_f1: baselineMacroF1,
    per_label: Object.fromEntries(perLabel),
    confusion: Object.fromEntries(order.map((l, i) => [l, Object.fromEntries(columns.map((c, j) => [c, matrix[i][j]]))])),
  };
}
