// Evaluation use cases: how good a sort is against labels a person checked (zero-shot beside
// few-shot), and how much two annotators agree.

import { agreementBetween, type AgreementReport } from '../engine/eval/agreement.js';
import { evaluateConfirmed } from '../engine/eval/confirmed.js';
import type { LabelCurve } from '../engine/eval/curves.js';
import { DEFAULT_TARGET_PRECISION, evaluate, type EvaluateOptions, type EvaluationReport, type EvaluationSide } from '../engine/eval/evaluate.js';
import type { LabelExample } from '../engine/eval/examples.js';
import { kappaBand } from '../engine/eval/metrics.js';
import { readLabels } from '../engine/eval/truth.js';
import { TriagemError } from '../engine/errors.js';
import { PRECISIONS, type Precision } from '../engine/models/types.js';
import { labelKey } from '../engine/sort/labels.js';
import { currentRunId } from './browse.js';
import type { AppContext } from './context.js';
import type { IndexProgress } from './indexing.js';
import type { ModelRequest } from './model-choice.js';
import { modelUse, type ModelUse } from './models.js';

export { DEFAULT_TARGET_PRECISION, kappaBand };
export type { AgreementReport, EvaluationReport, EvaluationSide, LabelCurve, LabelExample };

export interface EvaluationInput
  extends ModelRequest,
    Pick<EvaluateOptions, 'truth' | 'predictions' | 'labels' | 'templates' | 'threshold' | 'targetPrecision' | 'examples'> {
  onIndexProgress?: (p: IndexProgress) => void;
  onModel?: (use: ModelUse) => void;
}

/**
 * Scores a labelling against the truth: a predictions CSV as it is, or — without one — a sort of
 * the truth's own images, made now with the library's (or the default) model.
 */
export async function evaluateLabels(app: AppContext, input: EvaluationInput): Promise<EvaluationReport> {
  const base: EvaluateOptions = { truth: input.truth, predictions: input.predictions, targetPrecision: input.targetPrecision };
  if (input.predictions !== undefined) return evaluate(base);
  // The labels steer the default model (Portuguese labels get the multilingual one).
  const texts = input.labels ?? readLabels(input.truth, 'truth').labels;
  const open = await app.openModel({ model: input.model, precision: input.precision, texts, locale: input.locale });
  input.onModel?.(modelUse(open));
  try {
    return await evaluate({
      ...base,
      labels: input.labels,
      templates: input.templates,
      threshold: input.threshold,
      examples: input.examples,
      batchSize: app.config.batchSize,
      library: app.library('write'),
      model: open.model,
      onIndexProgress: input.onIndexProgress,
    });
  } finally {
    app.invalidateSearch();
  }
}

/** Where the window's evaluation takes its ground truth from. */
export type TruthSource = { kind: 'confirmed' } | { kind: 'csv'; path: string };

export interface SortEvaluationInput extends ModelRequest {
  truth: TruthSource;
  /** The sort run whose labels are evaluated; default the latest. */
  runId?: number;
  targetPrecision?: number;
  onModel?: (use: ModelUse) => void;
}

export interface SortEvaluation {
  report: EvaluationReport;
  /** The run whose labels were used, when there was one. */
  runId: number | null;
  /** Photos confirmed in review (the few-shot examples, or the truth itself). */
  confirmed: number;
  tookMs: number;
}

/**
 * The window's "how good is the sort?": the latest run's labels scored against the photos confirmed
 * in review (zero-shot beside cross-validated few-shot), or against a truth CSV the user picked
 * (the same formats as `triagem eval`), with the confirmed photos as few-shot examples.
 */
export async function evaluateSort(app: AppContext, input: SortEvaluationInput): Promise<SortEvaluation> {
  const started = performance.now();
  const library = app.library('write');
  const runId = currentRunId(library, input.runId) ?? null;
  const run = runId !== null ? library.sortRun(runId) : undefined;
  if (input.runId !== undefined && !run) throw new TriagemError(`there is no sort run ${input.runId}`, 'not-found');
  const marks = library.confirmedLabels().map((m) => ({ contentId: m.contentId, label: m.label }));
  // The run's model and weights, unless the caller chose: its embeddings are what was sorted.
  const cut = run ? run.modelKey.lastIndexOf(':') : -1;
  const runPrecision = run && cut > 0 ? run.modelKey.slice(cut + 1) : undefined;
  const request: ModelRequest = {
    model: input.model ?? (run && cut > 0 ? run.modelKey.slice(0, cut) : undefined),
    precision: input.precision ?? (input.model === undefined && isPrecision(runPrecision) ? runPrecision : undefined),
    locale: input.locale,
  };
  let report: EvaluationReport;
  if (input.truth.kind === 'confirmed') {
    const labels = run?.labels.length ? run.labels : [...new Map(marks.map((m) => [labelKey(m.label), m.label])).values()];
    if (labels.length === 0) throw new TriagemError('nothing is confirmed yet: confirm some photos in review, or pick a CSV of checked labels', 'eval-empty');
    const open = await app.openModel({ ...request, texts: labels });
    input.onModel?.(modelUse(open));
    report = await evaluateConfirmed({ library, model: open.model, labels, marks, source: 'review', targetPrecision: input.targetPrecision });
  } else {
    const truthLabels = readLabels(input.truth.path, 'truth').labels;
    // The run's labels when they hold every truth label (the sort as it was asked for), else the truth's own.
    const runKeys = new Set(run?.labels.map(labelKey) ?? []);
    const labels = run && truthLabels.every((l) => runKeys.has(labelKey(l))) ? run.labels : undefined;
    const wanted = new Set((labels ?? truthLabels).map(labelKey));
    const examples = marks.filter((m) => wanted.has(labelKey(m.label)));
    report = await evaluateLabels(app, {
      ...request,
      truth: input.truth.path,
      labels,
      examples: examples.length > 0 ? examples : undefined,
      targetPrecision: input.targetPrecision,
      onModel: input.onModel,
    });
  }
  return { report, runId, confirmed: marks.length, tookMs: performance.now() - started };
}

function isPrecision(p: string | undefined): p is Precision {
  return p !== undefined && (PRECISIONS as readonly string[]).includes(p);
}

export function agreement(a: string, b: string): AgreementReport {
  return agreementBetween(a, b);
}
