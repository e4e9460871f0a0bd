import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_TARGET_PRECISION,
  evaluateLabels,
  kappaBand,
  parseLabelList,
  parseTemplates,
  type EvaluationReport,
  type EvaluationSide,
} from '../../app/index.js';
import { TriagemError, UsageError } from '../../shared/errors.js';
import { COMMON_OPTIONS, intOption, numberOption, parse, type CliIo, type Command } from '../command.js';
import { safe } from '../format.js';
import { MODEL_OPTIONS, parseDevice, parsePrecision, reportModel, withApp } from '../options.js';
import { progressLine } from '../progress.js';
import { formatIndexProgress } from './index-cmd.js';
import { fixed3, percent, renderTable } from '../text-table.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...MODEL_OPTIONS,
  truth: { type: 'string' },
  predictions: { type: 'string' },
  labels: { type: 'string' },
  templates: { type: 'string' },
  examples: { type: 'string' },
  threshold: { type: 'string' },
  'target-precision': { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

const USAGE = `triagem eval --truth <csv|folder> [--predictions <csv>] [options]

Measures how well images are sorted against labels a person checked: accuracy, per-label precision,
recall, F1 and support, macro-F1, the confusion matrix, Cohen's kappa, and the majority-label
baseline beside them; a precision/recall sweep over thresholds suggests one for a target precision.

  --truth <csv|folder>     the checked labels: a CSV of path,label (header optional; relative paths
                           are read from the CSV's folder; "," or ";" separated), or a folder with
                           one subfolder per label. Images marked "unsure" have no truth and are left out
  --predictions <csv>      labels to check, e.g. the results CSV of \`triagem sort\` (matched by path,
                           then by sha256). Without it the truth's images are indexed and sorted now
  --labels <list>          labels to sort into (default: the truth's labels)
  --examples <folder>      one subfolder per label of confirmed example images: each label becomes its
                           text plus its examples, shown beside zero-shot. Examples are never scored
  --templates <list>       prompt templates separated by ";", {} marks the label
  --threshold <0..1>       sort threshold: images scoring below it go to "unsure" and count as wrong
  --target-precision <p>   precision the suggested threshold must reach (default ${DEFAULT_TARGET_PRECISION})
  --json                   print the report as JSON: accuracy, macro_f1, kappa, baseline_accuracy,
                           per_label {label: {precision, recall, f1, support}}, confusion {truth:
                           {predicted: count}}, sweep, label_curves {label: {positives, average_precision,
                           points}} (precision/recall by each label's own score; null for --predictions),
                           zero_shot and few_shot (with --examples), missing
  --model <id|folder>      model to sort with (default: the library's, else multilingual for Portuguese
                           labels, else clip-vit-b32); --models-dir <dir>
  --library <file>         library file (default: the app's library)
  --device <d>             auto | cpu | cuda | dml | coreml     --precision <p>  weights variant
  --verbose                more detail on stderr

Exit codes: 0 done (images that could not be scored are listed, not fatal), 1 fatal error, 2 usage error.`;

interface EvalPlan {
  truth: string;
  predictions?: string;
  labels?: string[];
  templates?: string[];
  examples?: string;
  threshold?: number;
  targetPrecision: number;
  batchSize?: number;
  precision?: ReturnType<typeof parsePrecision>;
}

function plan(values: ReturnType<typeof parse<typeof OPTIONS>>['values']): EvalPlan {
  if (values.truth === undefined) throw new UsageError('give the checked labels with --truth <csv|folder>');
  const truth = path.resolve(values.truth);
  if (!fs.existsSync(truth)) throw new UsageError(`--truth ${truth} does not exist`);
  const predictions = values.predictions !== undefined ? path.resolve(values.predictions) : undefined;
  if (predictions !== undefined) {
    if (!fs.existsSync(predictions)) throw new UsageError(`--predictions ${predictions} does not exist`);
    const sortOnly = (['labels', 'templates', 'examples', 'threshold', 'model'] as const).filter((k) => values[k] !== undefined);
    if (sortOnly.length > 0) {
      throw new UsageError(`${sortOnly.map((k) => `--${k}`).join(', ')}: only for when eval sorts the images itself, without --predictions`);
    }
  }
  const examples = values.examples !== undefined ? path.resolve(values.examples) : undefined;
  if (examples !== undefined && !isDirectory(examples)) throw new UsageError(`--examples ${examples} is not a folder`);
  const threshold = numberOption(values.threshold, 'threshold');
  if (threshold !== undefined && (threshold < 0 || threshold > 1)) throw new UsageError(`--threshold must be between 0 and 1, got "${values.threshold}"`);
  const target = numberOption(values['target-precision'], 'target-precision') ?? DEFAULT_TARGET_PRECISION;
  if (!(target > 0 && target <= 1)) throw new UsageError(`--target-precision must be above 0 and at most 1, got "${values['target-precision']}"`);
  let labels: string[] | undefined;
  let templates: string[] | undefined;
  try {
    labels = values.labels !== undefined ? parseLabelList(values.labels) : undefined;
    templates = values.templates !== undefined ? parseTemplates(values.templates) : undefined;
  } catch (err) {
    if (err instanceof TriagemError) throw new UsageError(err.message);
    throw err;
  }
  const batchSize = values['batch-size'] !== undefined ? intOption(values['batch-size'], 'batch-size', 1) : undefined;
  parseDevice(values.device);
  const precision = parsePrecision(values.precision);
  return { truth, predictions, labels, templates, examples, threshold, targetPrecision: target, batchSize, precision };
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The human-readable report: headline metrics (few-shot beside zero-shot), per label, confusion, threshold. */
export function formatEvaluation(r: EvaluationReport): string {
  const zs = r.zero_shot;
  const out: string[] = [];
  const what = r.predictions ? `predictions ${r.predictions}` : `a sort with ${r.model}`;
  out.push(`${r.n} images of ${r.truth} checked against ${what}`);
  out.push('');

  const heads = zs ? [['', 'few-shot', 'zero-shot']] : [];
  const pair = (f: (s: EvaluationSide) => string) => (zs ? [f(r), f(zs)] : [f(r)]);
  const kappaText = (s: EvaluationSide) => (s.kappa === null ? '—' : `${fixed3(s.kappa)} ${kappaBand(s.kappa)}`);
  out.push(
    renderTable(
      [
        ...heads,
        ['accuracy', ...pair((s) => percent(s.accuracy))],
        ['macro-F1', ...pair((s) => fixed3(s.macro_f1))],
        ["Cohen's kappa", ...pair(kappaText)],
        ['majority baseline', ...pair(() => percent(r.baseline_accuracy))],
      ],
      ['l', 'r', 'r'],
    ),
  );
  out.push(`(the baseline always answers "${r.baseline_label}": macro-F1 ${fixed3(r.baseline_macro_f1)}, kappa 0)`);
  if (r.kappa_note) out.push(`kappa: ${r.kappa_note}`);
  out.push('');

  const labelRows = r.labels.map((l) => {
    const m = r.per_label[l];
    const row = [l, String(m.support), fixed3(m.precision), fixed3(m.recall), fixed3(m.f1)];
    if (zs) row.push(fixed3(zs.per_label[l]?.f1 ?? 0));
    return row;
  });
  out.push(renderTable([['label', 'support', 'precision', 'recall', 'F1', ...(zs ? ['zero-shot F1'] : [])], ...labelRows], ['l', 'r', 'r', 'r', 'r', 'r']));
  out.push('');

  out.push('confusion (rows: true label, columns: predicted)');
  out.push(renderTable([['', ...r.columns], ...r.labels.map((l) => [l, ...r.columns.map((c) => String(r.confusion[l][c]))])], ['l', ...r.columns.map(() => 'r' as const)]));
  out.push('');

  if (r.sweep) {
    const s = r.sweep.suggestion;
    if (s.threshold === null) out.push(`threshold: ${s.note}`);
    else if (s.threshold === 0) out.push(`threshold: none needed for ${percent(s.target_precision)} precision (${percent(s.precision)} with every image kept)`);
    else {
      out.push(
        `threshold for ${percent(s.target_precision)} precision: --threshold ${s.threshold} (keeps ${s.kept} of ${r.n} images: precision ${percent(s.precision)}, recall ${percent(s.recall)})`,
      );
    }
  } else out.push('threshold: the predictions carry no scores, so no threshold can be suggested');

  const fs_ = r.few_shot;
  if (fs_) {
    const shots = Object.entries(fs_.shots).map(([l, n]) => `${l} ${n}`).join(', ');
    out.push(
      fs_.used
        ? `few-shot: examples ${shots}; weight ${fs_.blend} chosen by leave-one-out (${percent(fs_.loo_accuracy)} on the examples, zero-shot ${percent(fs_.zero_shot_accuracy)})`
        : `few-shot: examples ${shots} did not beat the text alone by leave-one-out${fs_.note ? ` (${fs_.note})` : ''}; scores are zero-shot`,
    );
    if (fs_.skipped.length > 0) out.push(`${fs_.skipped.length} example(s) not used:\n${fs_.skipped.map((s) => `  ${s.example}: ${s.reason}`).join('\n')}`);
  }
  if (r.excluded_examples > 0) out.push(`${r.excluded_examples} truth image(s) are examples (or copies of one) and were not scored`);
  return out.join('\n');
}

/** What could not be used, for stderr. */
function formatLeftOut(r: EvaluationReport): string[] {
  const lines: string[] = [];
  if (r.missing.length > 0) lines.push(`${r.missing.length} truth image(s) not scored:\n${r.missing.map((m) => `  ${safe(m.path)}: ${safe(m.reason)}`).join('\n')}`);
  if (r.problems.length > 0) {
    lines.push(`${r.problems.length} problem(s) in the labels:\n${r.problems.map((p) => `  ${safe(p.file)}${p.line !== undefined ? `:${p.line}` : ''}: ${safe(p.message)}`).join('\n')}`);
  }
  if (r.extra_predictions > 0) lines.push(`${r.extra_predictions} prediction(s) for files the truth does not mention were ignored`);
  return lines;
}

export const evalCommand: Command = {
  usage: USAGE,
  async run(argv, io: CliIo) {
    const { values } = parse(argv, OPTIONS, false);
    const p = plan(values);
    const verbose = values.verbose ?? false;
    const report = await withApp({ ...values, batchSize: p.batchSize }, async (app) => {
      const progress = progressLine(io);
      try {
        return await evaluateLabels(app, {
          truth: p.truth,
          predictions: p.predictions,
          targetPrecision: p.targetPrecision,
          labels: p.labels,
          templates: p.templates,
          threshold: p.threshold,
          examples: p.examples,
          model: values.model,
          precision: p.precision,
          onModel: (use) => reportModel(io, use, verbose),
          onIndexProgress: (ip) => progress.update(formatIndexProgress(ip)),
        });
      } finally {
        progress.finish();
      }
    });
    if (values.json) io.out(JSON.stringify(report));
    else io.out(formatEvaluation(report));
    for (const line of formatLeftOut(report)) io.err(line);
    return 0;
  },
};
