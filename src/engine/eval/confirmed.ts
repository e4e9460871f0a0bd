// "How good is the sort on what I checked?": the labels a person confirmed in review as the ground
// truth, scored on the stored embeddings (only the label texts go through the model). Zero-shot is
// the text alone. Few-shot needs examples, and here the examples are the truth itself, so it is
// cross-validated: the marks are split into folds (stratified by label), and each fold is scored by
// an adapter fitted on the other folds only — no image is graded by a fit that saw it.

import { TriagemError } from '../errors.js';
import type { Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import { encodeLabels } from '../sort/label-embeddings.js';
import { labelKey, normalizeLabels } from '../sort/labels.js';
import { labelMatrix, scoreMatrix, topIndex, type LabelMatrix } from '../sort/scoring.js';
import { DEFAULT_TEMPLATES, validateTemplates } from '../sort/templates.js';
import { DEFAULT_TARGET_PRECISION, scoreSide, type EvaluationReport, type MissingFile, type Outcome } from './evaluate.js';
import type { FewShotReport } from './examples.js';
import { MAX_SHOTS_PER_LABEL, blendedScores, fitFewShot } from './few-shot.js';
import type { LabelProblem } from './truth.js';

/** Folds of the cross-validation: 5 keeps 80 % of the marks in every fit, at five cheap fits. */
export const CONFIRMED_FOLDS = 5;

export interface ConfirmedMark {
  contentId: number;
  label: string;
}

export interface ConfirmedEvaluationOptions {
  library: Library;
  model: ClipModel;
  /** The labels the images are sorted into (a sort run's). */
  labels: readonly string[];
  templates?: string[];
  marks: readonly ConfirmedMark[];
  /** What the report names as its truth, e.g. "confirmed in review". */
  source: string;
  folds?: number;
  targetPrecision?: number;
}

export async function evaluateConfirmed(opts: ConfirmedEvaluationOptions): Promise<EvaluationReport> {
  const { library, model } = opts;
  const target = opts.targetPrecision ?? DEFAULT_TARGET_PRECISION;
  const labels = normalizeLabels(opts.labels);
  const templates = opts.templates && opts.templates.length > 0 ? opts.templates : DEFAULT_TEMPLATES;
  validateTemplates(templates);
  const key = library.modelKey(model.info);
  const indexOf = new Map(labels.map((l, i) => [labelKey(l), i]));

  const problems: LabelProblem[] = [];
  const offLabels = new Map<string, number>();
  const wanted: { contentId: number; y: number }[] = [];
  for (const m of opts.marks) {
    const y = indexOf.get(labelKey(m.label));
    if (y === undefined) offLabels.set(m.label, (offLabels.get(m.label) ?? 0) + 1);
    else wanted.push({ contentId: m.contentId, y });
  }
  for (const [label, n] of offLabels) {
    problems.push({ file: opts.source, message: `${n} photo(s) confirmed as "${label}", which is not one of the labels sorted into; left out` });
  }
  if (wanted.length === 0) throw new TriagemError('no confirmed photo has one of the labels sorted into; confirm some in review first', 'eval-empty', opts.source);

  const matrix =
    library.modelId(key) === undefined
      ? { contentIds: new Int32Array(0), dim: model.info.dim, data: new Float32Array(0) }
      : library.loadEmbeddings(key, wanted.map((w) => w.contentId));
  const rowOf = new Map<number, number>();
  matrix.contentIds.forEach((id, r) => rowOf.set(id, r));
  const missing: MissingFile[] = [];
  const items: { row: number; y: number }[] = [];
  for (const w of wanted) {
    const row = rowOf.get(w.contentId);
    if (row === undefined) missing.push({ path: `content ${w.contentId}`, reason: `not indexed with ${key}` });
    else items.push({ row, y: w.y });
  }
  if (items.length === 0) throw new TriagemError(`no confirmed photo is indexed with ${key}`, 'eval-empty', opts.source);

  const d = matrix.dim;
  const l = labels.length;
  const text = labelMatrix(await encodeLabels(model, labels, templates));
  const scoring = model.info.scoring;
  const images = gather(matrix.data, items.map((it) => it.row), d);
  const zeroScores = scoreMatrix(images, items.length, text, scoring);
  const outcomesOf = (scores: Float32Array): Outcome[] =>
    items.map((it, i) => {
      const best = topIndex(scores, i, l);
      const all: Record<string, number> = {};
      for (let k = 0; k < l; k++) all[labels[k]] = scores[i * l + k];
      return { truth: labels[it.y], predicted: labels[best], top: labels[best], score: scores[i * l + best], scores: all };
    });
  const zs = scoreSide(outcomesOf(zeroScores), labels, target);

  const covered = new Set(items.map((it) => it.y)).size;
  if (covered < 2) {
    return report(zs, null, null);
  }
  const full = fit(images, items.map((it) => it.y), items.map((_, i) => i), labels, text, scoring, d);
  const fewScores = new Float32Array(items.length * l);
  const folds = foldsOf(items.map((it) => it.y), Math.max(2, opts.folds ?? CONFIRMED_FOLDS));
  for (const fold of new Set(folds)) {
    const train = folds.flatMap((f, i) => (f === fold ? [] : [i]));
    const test = folds.flatMap((f, i) => (f === fold ? [i] : []));
    const adapter = fit(images, items.map((it) => it.y), train, labels, text, scoring, d);
    const scores = blendedScores(adapter, gather(images, test, d), test.length, text, scoring);
    test.forEach((i, j) => fewScores.set(scores.subarray(j * l, (j + 1) * l), i * l));
  }
  const fsSide = scoreSide(outcomesOf(fewScores), labels, target);
  return report(fsSide, zs, { ...full.summary, skipped: [] });

  function report(top: ReturnType<typeof scoreSide>, zeroShot: ReturnType<typeof scoreSide> | null, fewShot: FewShotReport | null): EvaluationReport {
    return {
      ...top,
      truth: opts.source,
      predictions: null,
      model: key,
      zero_shot: zeroShot,
      few_shot: fewShot,
      missing,
      extra_predictions: 0,
      excluded_examples: 0,
      problems,
    };
  }
}

/** Rows `rows` of a row-major matrix, in that order. */
function gather(data: Float32Array, rows: readonly number[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(data.subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/** The adapter a sort would build from these examples (at most MAX_SHOTS_PER_LABEL per label, first ones first). */
function fit(images: Float32Array, ys: readonly number[], use: readonly number[], labels: readonly string[], text: LabelMatrix, scoring: ClipModel['info']['scoring'], d: number) {
  const perLabel = new Array<number>(labels.length).fill(0);
  const chosen = use.filter((i) => perLabel[ys[i]]++ < MAX_SHOTS_PER_LABEL);
  return fitFewShot({ labels, text, scoring, examples: gather(images, chosen, d), exampleLabels: chosen.map((i) => ys[i]) });
}

/**
 * Fold of each item: round-robin within each label, so every fold holds every label it can; each
 * label starts at another fold, so labels with one or two marks do not all land in the first folds.
 */
export function foldsOf(ys: readonly number[], folds: number): number[] {
  const seen = new Map<number, number>();
  return ys.map((y) => {
    const n = seen.get(y) ?? 0;
    seen.set(y, n + 1);
    return (n + y) % folds;
  });
}
