import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { TriagemError } from '../errors.js';
import { indexFolders, type IndexProgress } from '../indexer/indexer.js';
import type { FileRecord, Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import { UNSURE_LABEL, normalizeLabels } from '../sort/labels.js';
import { sortLibrary, type SortResult } from '../sort/sort.js';
import { labelCurves, type LabelCurve } from './curves.js';
import { examplesFromTree, type FewShotReport, type LabelExample } from './examples.js';
import { classificationReport, type ClassificationReport, type LabelPair } from './metrics.js';
import { thresholdSweep, type ScoredOutcome, type ThresholdSweep } from './sweep.js';
import { readLabels, readPredictionsCsv, type LabelProblem, type LabelSet, type Prediction, type PredictionSet } from './truth.js';

export const DEFAULT_TARGET_PRECISION = 0.9;

export interface EvaluateOptions {
  /** Ground truth: a `path,label` CSV or a folder with one subfolder per label. */
  truth: string;
  /** Predictions CSV (e.g. `triagem sort`'s results CSV). Without it, the truth's images are sorted here. */
  predictions?: string;
  /** Labels to sort into; default: the truth's labels. */
  labels?: readonly string[];
  templates?: string[];
  /** Sort threshold: images scoring below it go to `unsure` (and count as wrong). */
  threshold?: number;
  /** Precision the suggested threshold must reach (default 0.9). */
  targetPrecision?: number;
  /** Confirmed examples (a folder tree, one folder per label, or a list): adds a few-shot column. */
  examples?: string | readonly LabelExample[];
  /** Needed when sorting here (no `predictions`). */
  library?: Library;
  model?: ClipModel;
  batchSize?: number;
  onIndexProgress?: (p: IndexProgress) => void;
}

/** A truth image that has no prediction, and why. */
export interface MissingFile {
  path: string;
  reason: string;
}

/** One way of labelling (zero-shot, few-shot, or a predictions CSV) scored against the truth. */
export interface EvaluationSide extends ClassificationReport {
  /** Precision/recall per threshold and the suggested threshold; null when predictions carry no scores. */
  sweep: ThresholdSweep | null;
  /** A precision/recall curve per label, from every label's score; null when the predictions carry only the winner's. */
  label_curves: Record<string, LabelCurve> | null;
}

/**
 * The report of `triagem eval`, printed as it is by `--json`. The top-level metrics are those of the
 * labelling the user would get: few-shot when examples were given, else zero-shot (or the CSV).
 */
export interface EvaluationReport extends EvaluationSide {
  truth: string;
  /** The predictions CSV, or null when the images were sorted for this evaluation. */
  predictions: string | null;
  /** The model key the images were sorted with, or null. */
  model: string | null;
  /** The zero-shot side, when the top level is few-shot. */
  zero_shot: EvaluationSide | null;
  few_shot: FewShotReport | null;
  missing: MissingFile[];
  /** Predictions for files the truth does not mention (ignored). */
  extra_predictions: number;
  /** Truth images left out because they are examples (or copies of one): they are not held out. */
  excluded_examples: number;
  problems: LabelProblem[];
}

/** One scored image of an evaluation. */
export interface Outcome {
  truth: string;
  predicted: string;
  /** Best-scoring label even when `predicted` is unsure, and its score. */
  top: string;
  score: number | null;
  /** Every label's score, when known (images sorted here). */
  scores?: Readonly<Record<string, number>>;
}

/**
 * Compares a labelling with ground truth: the predictions CSV when given, else a sort of the truth's
 * own images (indexed first when needed), zero-shot and — with examples — few-shot side by side.
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluationReport> {
  const truth = readLabels(opts.truth, 'truth');
  const target = opts.targetPrecision ?? DEFAULT_TARGET_PRECISION;
  if (!(target > 0 && target <= 1)) throw new TriagemError(`target precision must be in (0, 1], got ${target}`, 'eval-target');
  if (truth.entries.size === 0) throw new TriagemError('has no labelled images', 'eval-empty', truth.source);
  if (opts.predictions !== undefined) {
    if (opts.examples !== undefined) throw new TriagemError('examples need the images sorted here; leave out the predictions CSV', 'eval-examples-with-predictions');
    return evaluatePredictions(truth, readPredictionsCsv(opts.predictions), target);
  }
  return evaluateBySorting(truth, opts, target);
}

/** Label spellings unified case-insensitively, the truth's spelling first. */
class Canon {
  private readonly map = new Map<string, string>();
  constructor(labels: readonly string[]) {
    for (const l of labels) this.of(l);
  }
  of(label: string): string {
    if (label === UNSURE_LABEL) return label;
    const key = label.toLocaleLowerCase();
    const known = this.map.get(key);
    if (known !== undefined) return known;
    this.map.set(key, label);
    return label;
  }
}

/** Metrics, threshold sweep and per-label curves of one way of labelling. */
export function scoreSide(outcomes: readonly Outcome[], order: readonly string[], target: number): EvaluationSide {
  const pairs: LabelPair[] = outcomes.map((o) => ({ truth: o.truth, predicted: o.predicted }));
  const scored = outcomes.every((o) => o.score !== null);
  const sweep = scored
    ? thresholdSweep(
        outcomes.map((o): ScoredOutcome => ({ score: o.score as number, correct: o.top === o.truth })),
        target,
      )
    : null;
  const report = classificationReport(pairs, order);
  const curves = outcomes.every((o) => o.scores !== undefined)
    ? labelCurves(
        outcomes.map((o) => ({ truth: o.truth, scores: o.scores! })),
        report.labels,
      )
    : null;
  return { ...report, sweep, label_curves: curves };
}

function sha256File(file: string): string | null {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

function evaluatePredictions(truth: LabelSet, predictions: PredictionSet, target: number): EvaluationReport {
  const canon = new Canon([...truth.labels, ...predictions.labels]);
  const outcomes: Outcome[] = [];
  const missing: MissingFile[] = [];
  const used = new Set<string>();
  const unmatched: [string, string][] = [];
  for (const [file, label] of truth.entries) {
    const p = predictions.entries.get(file);
    if (p) {
      used.add(p.path);
      outcomes.push({ truth: label, predicted: canon.of(p.label), top: canon.of(p.top), score: p.score });
    } else unmatched.push([file, label]);
  }
  // A corrected copy of a sort's output (files moved between label folders by hand) has other paths
  // than the sorted originals; the results CSV's sha256 column still ties each copy to its prediction.
  const bySha = new Map<string, Prediction>();
  for (const p of predictions.entries.values()) if (p.sha256 && !bySha.has(p.sha256)) bySha.set(p.sha256, p);
  for (const [file, label] of unmatched) {
    const sha = bySha.size > 0 ? sha256File(file) : null;
    const p = sha ? bySha.get(sha) : undefined;
    if (p) {
      used.add(p.path);
      outcomes.push({ truth: label, predicted: canon.of(p.label), top: canon.of(p.top), score: p.score });
    } else missing.push({ path: file, reason: `no prediction in ${predictions.source}` });
  }
  if (outcomes.length === 0) {
    throw new TriagemError(
      `no file of the truth has a prediction in ${predictions.source} (paths are matched after resolving relative ones against each CSV's folder, then by sha256 when the CSV has it)`,
      'eval-empty',
      truth.source,
    );
  }
  const order = [...truth.labels, ...predictions.labels.map((l) => canon.of(l))];
  const report = scoreSide(outcomes, order, target);
  return {
    ...report,
    truth: truth.source,
    predictions: predictions.source,
    model: null,
    zero_shot: null,
    few_shot: null,
    missing,
    extra_predictions: [...predictions.entries.keys()].filter((p) => !used.has(p)).length,
    excluded_examples: 0,
    problems: [...truth.problems, ...predictions.problems],
  };
}

async function evaluateBySorting(truth: LabelSet, opts: EvaluateOptions, target: number): Promise<EvaluationReport> {
  const { library, model } = opts;
  if (!library || !model) {
    throw new TriagemError('without a predictions CSV the images are sorted here, which needs a model and a library', 'eval-needs-model');
  }
  const labels = normalizeLabels(opts.labels && opts.labels.length > 0 ? opts.labels : truth.labels, opts.threshold);
  const canon = new Canon([...truth.labels, ...labels]);
  const problems: LabelProblem[] = [...truth.problems];
  const sorted = new Set(labels.map((l) => l.toLocaleLowerCase()));
  for (const l of truth.labels) {
    if (!sorted.has(l.toLocaleLowerCase())) problems.push({ file: truth.source, message: `truth label "${l}" is not among the labels sorted into; its images cannot be right` });
  }

  let examples: readonly LabelExample[] | undefined;
  let exampleRoot: string | undefined;
  if (typeof opts.examples === 'string') {
    const tree = examplesFromTree(opts.examples);
    examples = tree.examples;
    exampleRoot = opts.examples;
    problems.push(...tree.problems);
  } else examples = opts.examples;

  // Index what is needed: the truth's folder (or its listed files) and the examples' folder.
  const missing: MissingFile[] = [];
  const absent = new Set<string>();
  const roots: string[] = [];
  if (truth.kind === 'folders') roots.push(truth.source);
  else {
    for (const file of truth.entries.keys()) {
      if (fs.existsSync(file)) roots.push(file);
      else {
        absent.add(file);
        missing.push({ path: file, reason: 'no such file' });
      }
    }
  }
  if (exampleRoot !== undefined) roots.push(exampleRoot);
  const failures = new Map<string, string>();
  if (roots.length > 0) {
    const summary = await indexFolders({ library, model, folders: roots, batchSize: opts.batchSize, thumbnails: false, onProgress: opts.onIndexProgress });
    for (const f of summary.failed) failures.set(f.path, f.error);
  }

  const files: FileRecord[] = [];
  const truthOf = new Map<string, string>();
  for (const [file, label] of truth.entries) {
    if (absent.has(file)) continue;
    const record = library.fileByPath(file);
    if (record) {
      files.push(record);
      truthOf.set(record.path, label);
    } else missing.push({ path: file, reason: failures.get(file) ?? 'could not be indexed' });
  }

  // Measurements, not runs a person reviews: recording them would make them the library's latest sort.
  const base = { library, model, labels, templates: opts.templates, threshold: opts.threshold, files, record: false };
  const zeroShot = await sortLibrary(base);
  const fewShot = examples && examples.length > 0 ? await sortLibrary({ ...base, examples }) : undefined;
  const key = library.modelKey(model.info);
  for (const f of zeroShot.unembedded) missing.push({ path: f.path, reason: failures.get(f.path) ?? `not indexed with ${key}` });

  const held = new Set(fewShot?.exampleContentIds ?? []);
  const outcomesOf = (result: SortResult): Outcome[] =>
    result.results
      .filter((r) => !held.has(r.file.contentId))
      .map((r) => {
        let top = r.label;
        if (r.label === UNSURE_LABEL) top = result.labels.reduce((a, b) => (r.scores[b] > r.scores[a] ? b : a));
        const scores = Object.fromEntries(Object.entries(r.scores).map(([l, v]) => [canon.of(l), v]));
        return { truth: truthOf.get(r.file.path)!, predicted: canon.of(r.label), top: canon.of(top), score: r.score, scores };
      });
  const excluded = zeroShot.results.filter((r) => held.has(r.file.contentId)).length;
  if (zeroShot.results.length - excluded === 0) {
    throw new TriagemError(
      `no image of the truth could be sorted${missing.length ? `: ${describeMissing(missing)}` : ''}${excluded ? ` (${excluded} left out as examples)` : ''}`,
      'eval-empty',
      truth.source,
    );
  }
  const order = [...truth.labels, ...labels.map((l) => canon.of(l))];
  const zs = scoreSide(outcomesOf(zeroShot), order, target);
  const fs_ = fewShot ? scoreSide(outcomesOf(fewShot), order, target) : undefined;
  return {
    ...(fs_ ?? zs),
    truth: truth.source,
    predictions: null,
    model: key,
    zero_shot: fs_ ? zs : null,
    few_shot: fewShot?.fewShot ?? null,
    missing,
    extra_predictions: 0,
    excluded_examples: excluded,
    problems,
  };
}

function describeMissing(missing: readonly MissingFile[]): string {
  const first = missing[0];
  return `${first.path}: ${first.reason}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`;
}
