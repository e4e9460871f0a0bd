// Evaluation use cases: how good a sort is against labels a person checked (zero-shot beside
// few-shot), and how much two annotators agree.

import { agreementBetween, type AgreementReport } from '../engine/eval/agreement.js';
import { DEFAULT_TARGET_PRECISION, evaluate, type EvaluateOptions, type EvaluationReport, type EvaluationSide } from '../engine/eval/evaluate.js';
import type { LabelExample } from '../engine/eval/examples.js';
import { kappaBand } from '../engine/eval/metrics.js';
import { readLabels } from '../engine/eval/truth.js';
import type { AppContext } from './context.js';
import type { IndexProgress } from './indexing.js';
import type { ModelRequest } from './model-choice.js';
import { modelUse, type ModelUse } from './models.js';

export { DEFAULT_TARGET_PRECISION, kappaBand };
export type { AgreementReport, EvaluationReport, EvaluationSide, LabelExample };

export interface EvaluationInput extends ModelRequest {
  truth: string;
  predictions?: string;
  labels?: readonly string[];
  templates?: string[];
  threshold?: number;
  targetPrecision?: number;
  /** A folder with one subfolder per label, or confirmed (content id or path, label) pairs. */
  examples?: string | readonly LabelExample[];
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

export function agreement(a: string, b: string): AgreementReport {
  return agreementBetween(a, b);
}
