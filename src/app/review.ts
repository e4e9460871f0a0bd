// Reviewing a sort: a person confirms, changes or rejects what the model suggested, label by label,
// least confident first. Marks belong to contents (every copy of a photo shares them), are stored in
// the library, and each action is one undoable batch. Confirmed labels are the few-shot examples
// (Library.confirmedLabels).

import { TriagemError } from '../engine/errors.js';
import type { Mark, MarkChange } from '../engine/library/review.js';
import { UNSURE_LABEL } from '../engine/sort/labels.js';
import { loadPresets, type LabelPreset } from '../engine/sort/presets.js';
import { currentRunId } from './browse.js';
import type { AppContext } from './context.js';

export type MarkAction = 'label' | 'accept' | 'clear' | 'keep' | 'reject' | 'unflag';

export interface MarkInput {
  fileIds: readonly number[];
  action: MarkAction;
  /** For `label`. */
  label?: string;
  /** The run whose suggestion `accept` takes; default the latest. */
  runId?: number;
}

export interface MarkOutcome {
  batch: number;
  marks: Mark[];
  /** Files whose content had no suggestion to accept. */
  skipped: number;
}

const FIXED: Record<Exclude<MarkAction, 'label' | 'accept'>, MarkChange> = {
  clear: { label: null },
  keep: { flag: 'keep' },
  reject: { flag: 'reject' },
  unflag: { flag: null },
};

export function markFiles(app: AppContext, input: MarkInput): MarkOutcome {
  const library = app.library('write');
  const contentIds = library.browse.contentIdsOfFiles(input.fileIds);
  if (contentIds.length === 0) throw new TriagemError('none of these files is in the library', 'not-found');
  const runId = currentRunId(library, input.runId) ?? null;
  if (input.action === 'label') {
    const label = input.label?.normalize('NFC').trim();
    if (!label) throw new TriagemError('give the label to assign', 'invalid-labels');
    if (label === UNSURE_LABEL) throw new TriagemError(`"${UNSURE_LABEL}" is not a label a photo can be given`, 'invalid-labels');
    return { ...library.review.mark(contentIds, { label }, runId), skipped: 0 };
  }
  if (input.action === 'accept') {
    if (runId === null) throw new TriagemError('nothing has been sorted yet; there is no suggestion to accept', 'not-found');
    const suggestions = library.review.suggestions(runId, contentIds);
    const entries = contentIds.flatMap((contentId) => {
      const s = suggestions.get(contentId);
      // A run sorted with a global threshold kept no winning label for its "unsure" photos.
      return s && s.label !== UNSURE_LABEL ? [{ contentId, change: { label: s.label } }] : [];
    });
    if (entries.length === 0) throw new TriagemError('these photos have no suggestion to accept', 'not-found');
    return { ...library.review.markEach(entries, runId), skipped: contentIds.length - entries.length };
  }
  return { ...library.review.mark(contentIds, FIXED[input.action], runId), skipped: 0 };
}

/** Undoes the latest mark batch; null when there is none. */
export function undoMark(app: AppContext): { batch: number; marks: Mark[] } | null {
  if (!app.libraryExists()) return null;
  return app.library('write').review.undo();
}

/** Bins of the score histograms: the threshold slider's step is 1/BINS, so counts are exact at every stop. */
export const HISTOGRAM_BINS = 1000;

export interface LabelSummary {
  label: string;
  /** Contents the run suggests for this label after its threshold. */
  suggested: number;
  /** Of those, contents a person has reviewed (confirmed label or flag). */
  reviewed: number;
  /** Contents whose final label (confirmed, else suggested) is this one. */
  final: number;
  threshold: number;
  /** Winning scores of contents whose best label is this one, in HISTOGRAM_BINS bins over [0, 1]. */
  histogram: number[];
}

/** How a run used the photos confirmed in review (known while the process that sorted keeps the run). */
export interface RunFewShot {
  /** Examples used per label, after skipping unusable ones. */
  shots: Record<string, number>;
  /** False when leave-one-out found the examples no better than the label texts alone. */
  used: boolean;
  blend: number;
  note: string | null;
}

export interface RunSummary {
  runId: number;
  labels: string[];
  modelKey: string;
  createdAt: number;
  /** Contents in the run that some present file holds. */
  total: number;
  reviewed: number;
  rejected: number;
  perLabel: LabelSummary[];
  /** The "unsure" bucket: contents below their label's threshold. */
  unsure: { suggested: number; reviewed: number; final: number };
  /** Null when the run had no examples, or was made before this process started. */
  fewShot: RunFewShot | null;
}

export function runSummary(app: AppContext, runId?: number): RunSummary | null {
  if (!app.libraryExists()) return null;
  const library = app.library('read');
  const id = currentRunId(library, runId);
  if (id === undefined) return null;
  const run = library.review.run(id);
  if (!run) throw new TriagemError(`there is no sort run ${id}`, 'not-found');
  const labels = JSON.parse(run.labels) as string[];
  const thresholds = library.review.thresholds(id);
  const per = new Map<string, LabelSummary>(
    labels.map((label) => [label, { label, suggested: 0, reviewed: 0, final: 0, threshold: thresholds[label] ?? 0, histogram: new Array<number>(HISTOGRAM_BINS).fill(0) }]),
  );
  const unsure = { suggested: 0, reviewed: 0, final: 0 };
  let total = 0;
  let reviewed = 0;
  let rejected = 0;
  for (const g of library.review.runGroups(id, HISTOGRAM_BINS)) {
    total += g.count;
    const entry = per.get(g.label);
    if (entry) entry.histogram[g.bin] += g.count;
    // A run sorted with a global threshold stored "unsure" as the label itself.
    const effective = !entry || g.below ? UNSURE_LABEL : g.label;
    const isReviewed = g.markLabel !== null || g.flag !== null;
    if (isReviewed) reviewed += g.count;
    if (g.flag === 'reject') rejected += g.count;
    const bucket = effective === UNSURE_LABEL ? unsure : per.get(effective);
    if (bucket) {
      bucket.suggested += g.count;
      if (isReviewed) bucket.reviewed += g.count;
    }
    const final = g.markLabel ?? effective;
    const finalBucket = final === UNSURE_LABEL ? unsure : per.get(final);
    if (finalBucket) finalBucket.final += g.count;
  }
  const few = app.keptRun(id)?.fewShot;
  const fewShot = few ? { shots: few.shots, used: few.used, blend: few.blend, note: few.note } : null;
  return { runId: id, labels, modelKey: run.modelKey, createdAt: run.createdAt, total, reviewed, rejected, perLabel: [...per.values()], unsure, fewShot };
}

export function setThresholds(app: AppContext, runId: number, thresholds: Readonly<Record<string, number>>): RunSummary {
  const library = app.library('write');
  const run = library.review.run(runId);
  if (!run) throw new TriagemError(`there is no sort run ${runId}`, 'not-found');
  const labels = new Set(JSON.parse(run.labels) as string[]);
  for (const [label, value] of Object.entries(thresholds)) {
    if (!labels.has(label)) throw new TriagemError(`sort run ${runId} has no label "${label}"`, 'unknown-label');
    if (!(value >= 0 && value <= 1)) throw new TriagemError(`threshold must be between 0 and 1, got ${value}`, 'invalid-labels');
  }
  library.review.setThresholds(runId, thresholds);
  return runSummary(app, runId) as RunSummary;
}

export function presets(): LabelPreset[] {
  return loadPresets();
}
